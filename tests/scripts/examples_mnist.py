"""pytorch/examples' mnist/main.py as it prints, on synthetic 8x8 digits: Net, train(),
test(), main(). Writes what it printed, as numbers, to printed.json."""

import json
import sys

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

printed = {"train": [], "test": []}


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, 1)
        self.fc = nn.Linear(4 * 6 * 6, 10)

    def forward(self, x):
        return F.log_softmax(self.fc(torch.flatten(F.relu(self.conv(x)), 1)), dim=1)


def train(model, train_loader, optimizer, epoch, log_interval=5):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        if batch_idx % log_interval == 0:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(  # noqa: UP032
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))
            printed["train"].append([epoch, batch_idx * len(data), round(loss.item(), 6)])


def test(model, test_loader):
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for data, target in test_loader:
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()
            correct += output.argmax(dim=1).eq(target).sum().item()
    test_loss /= len(test_loader.dataset)
    print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(  # noqa: UP032
        test_loss, correct, len(test_loader.dataset),
        100. * correct / len(test_loader.dataset)))
    printed["test"].append([round(test_loss, 4), correct / len(test_loader.dataset)])


def digits(count, seed):
    generator = torch.Generator().manual_seed(seed)
    target = torch.randint(0, 10, (count,), generator=generator)
    data = torch.randn(count, 1, 8, 8, generator=generator) * 0.3
    data[torch.arange(count), 0, target % 8, target // 8 + 2] += 2.0
    return TensorDataset(data, target)


def main():
    torch.manual_seed(1)
    train_loader = DataLoader(digits(1280, 0), batch_size=64, shuffle=True)
    test_loader = DataLoader(digits(256, 1), batch_size=256)
    model = Net()
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    for epoch in range(1, 3):
        train(model, train_loader, optimizer, epoch)
        test(model, test_loader)
    with open(sys.argv[1] if len(sys.argv) > 1 else "printed.json", "w") as out:
        json.dump(printed, out)


if __name__ == '__main__':
    main()
