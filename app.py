"""A local page to write poems in the browser (Gradio; pip install -e ".[web]").

    python app.py ckpt_path=logs/train/runs/<run>/checkpoints/best.ckpt        # http://127.0.0.1:7860
    python app.py ckpt_path=... port=8080 max_poems=4

Installed, the same command is `lit-poetry-app`; the code is lit_poetry/commands/app.py -> lit_poetry/app.py.
"""

from lit_poetry.commands.app import main

if __name__ == "__main__":
    main()
