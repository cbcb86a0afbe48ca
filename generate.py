"""Write poems with a trained checkpoint (nothing else needed: the vocabulary is inside it).

    python generate.py ckpt_path=logs/train/runs/<run>/checkpoints/best.ckpt start=日 temperature=0.8
    python generate.py ckpt_path=... start=[日,红,山,夜,湖,海,月] form=wujue seed=0
    python generate.py ckpt_path=... acrostic=春夏秋冬 form=qijue num_samples=3
    python generate.py ckpt_path=... start=月 prefix=秋风萧瑟 output=json

Imports only torch and the model code: no Lightning, W&B or matplotlib on the way to the first poem.
Installed, the same command is `lit-poetry-generate`; the code is lit_poetry/commands/generate.py -> generation.py.
"""

from lit_poetry.commands.generate import main

if __name__ == "__main__":
    main()
