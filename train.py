"""Train the Tang-poetry LSTM language model.

    python train.py                                     # small corpus, a few minutes on a CPU
    python train.py data=tang optimizer=rmsprop         # 全唐诗 with RMSprop
    python train.py model=fused_lstm trainer.precision=bf16-mixed
    python train.py data=tang trainer=ddp trainer.devices=4
    python train.py -m experiment=optimizer_comparison optimizer=adam,rmsprop,adagrad,sgd,momentum
    python train.py ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt   # resume

Every key in configs/ can be overridden on the command line (Hydra). Installed, the same command is
`lit-poetry-train`; the code is lit_poetry/commands/train.py -> lit_poetry/training.py.
"""

from lit_poetry.commands.train import main

if __name__ == "__main__":
    main()
