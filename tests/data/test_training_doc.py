"""docs/training.md's recipes run as written: the code block on tiny SIN and IN shards."""

import re
from pathlib import Path

import torch

from tests.data.test_readers import make_shard

DOC = Path(__file__).resolve().parents[2] / "docs" / "training.md"


def test_the_three_recipes_of_the_training_doc_run(tmp_path):
    block = next(b for b in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S) if "RECIPES" in b)
    namespace: dict = {}
    exec(compile(block, str(DOC), "exec"), namespace)
    folders = {}
    for source, seed in (("sin", 1), ("in", 2)):
        for shard in range(2):
            make_shard(tmp_path / source / f"train-{shard:05d}.h5", 6, 32, start=10 * shard, seed=seed + shard)
        folders[source] = tmp_path / source
    assert set(namespace["RECIPES"]) == {"A", "B", "C"}
    tiny = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten(), torch.nn.Linear(48, 7))
    before = [p.detach().clone() for p in tiny.parameters()]
    model = namespace["train"]("B", folders, model=tiny, batch_size=4, workers=0, max_steps=3)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))  # it trained
    torch.save(model.state_dict(), tmp_path / "model_B.pth")
    fresh = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten(), torch.nn.Linear(48, 7))
    random_start = fresh[2].weight.detach().clone()
    model_c = namespace["train"](
        "C",
        {"in": folders["in"]},
        model=fresh,
        init_checkpoint=tmp_path / "model_B.pth",
        batch_size=4,
        workers=0,
        max_steps=1,
    )
    b = model[2].weight.detach()
    assert (model_c[2].weight.detach() - b).abs().max() < (random_start - b).abs().max() / 10  # started from model_B
    namespace["train"]("A", {"sin": folders["sin"]}, model=tiny, batch_size=4, workers=0, max_steps=1)
