"""The page: write poems in the browser (Gradio), a thin layer over generation.py (the sampler of
generate.py; no second one).

    python app.py ckpt_path=<run>/checkpoints/best.ckpt              # http://127.0.0.1:7860
    python app.py ckpt_path=... port=8080 device=cuda max_poems=4

Needs `pip install -e ".[web]"`. Requests are bounded (poems, characters) and handled one at a time;
bad input gets a message on the page and the server keeps serving. The page makes no outside
connection: Gradio's analytics are off and its fonts are local.
"""

import html
import os
import re
import socket
import sys
import threading
from dataclasses import dataclass

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: no calls home

import gradio as gr  # noqa: E402

from lit_poetry.data.cleaning import TITLE_MAX_LEN  # noqa: E402
from lit_poetry.errors import LitPoetryError  # noqa: E402
from lit_poetry.generation import (  # noqa: E402
    AUTO,
    guidance_for,
    in_script,
    lines_in,
    notes_of,
    resolved_metre,
    sample,
    title_in,
)
from lit_poetry.metre import check  # noqa: E402
from lit_poetry.metre.patterns import LEVELS  # noqa: E402
from lit_poetry.search import Search  # noqa: E402
from lit_poetry.text import FORM_NAMES, FORMS, to_traditional  # noqa: E402

FORM_CHOICES = [("模型自定 auto", "auto"), ("自由 free", "free")] + [
    (f"{FORM_NAMES[f]} {n}×{lines}", f) for f, (n, lines) in FORMS.items()]
SCRIPT_CHOICES = [("简体 simplified", "simplified"), ("繁體 traditional", "traditional")]
METRE_CHOICES = [("自动 auto (律绝用严)", "auto"), ("不限 off", "off"), ("宽 relaxed (一三五不论)", "relaxed"),
                 ("严 strict (王力)", "strict"), ("全 every position", "every")]
CSS = """
#poems .poem { font-size: 1.7rem; line-height: 2.4rem; margin: 0.8rem 0 1.6rem; letter-spacing: 0.08em; }
#poems .poem p { margin: 0; }
#poems .poem .marks { font-size: 1.0rem; line-height: 1.2rem; color: #667085; letter-spacing: 0.95em; }
#poems .poem .pattern { font-size: 0.95rem; color: #667085; letter-spacing: 0; }
#poems .poem .title { font-weight: 600; margin-bottom: 0.4rem; }
#message .page-message { padding: 0.6rem 0.9rem; border-radius: 6px; margin-bottom: 0.6rem; font-size: 1.05rem; }
#message .page-message p { margin: 0.1rem 0; }
#message .error { background: #fef3f2; border-left: 4px solid #d92d20; }
#message .note { background: #f2f4f7; border-left: 4px solid #667085; }
#message .error p { color: #b42318; }
#message .note p { color: #344054; }
"""
FIELDS = {"start": ("起首字", "Start characters"), "acrostic": ("藏头", "Acrostic"), "prefix": ("意境", "Mood prefix"),
          "title": ("题目", "Title")}
FORM_LABELS = {value: label for label, value in FORM_CHOICES}
METRE_NAMES = {value: label for label, value in METRE_CHOICES}
LOOSER = {"strict": ("请选「宽」", "choose relaxed"), "every": ("请选「宽」", "choose relaxed"),
          "relaxed": ("请把平仄设为「不限」", "set the tones to off"), "off": ("请取消「押韵」", "untick Rhyme")}
# What generation says in command-line words, said as the page says it: (pattern, Chinese, English)
PAGE_WORDS: list[tuple[str, str, str]] = [
    (r"(?P<f>start|acrostic|prefix|title) character '(?P<c>.+?)' is not in the model's vocabulary(; try a "
     r"character read '(?P<py>\w+)': (?P<alt>.+))?",
     "{field_zh}里的「{c}」模型不认识{alt_zh}", "{field_en}: the model does not know '{c}'{alt_en}"),
    (r"this model was trained without titles", "这个模型训练时没有题目，不能按题目写诗：请清空题目，用起首字或意境",
     "this model was trained without titles: clear the title, or use start characters and a mood prefix"),
    (r"start words .* must begin with the acrostic's first character '(?P<c>.)'",
     "起首字须以藏头的第一个字「{c}」开头", "the start characters must begin with the acrostic's first, '{c}'"),
    (r"acrostic '(?P<a>.+)' has (?P<n>\d+) characters but form=(?P<form>\w+) has (?P<m>\d+) lines",
     "藏头「{a}」有 {n} 个字，{form_zh}只有 {m} 句", "the acrostic has {n} characters; {form_en} has {m} lines"),
    (r"start '(?P<s>.+)' does not fit form=(?P<form>\w+)\b.* at '(?P<c>.)'",
     "起首字「{s}」放不进{form_zh}（在「{c}」处）", "the start characters do not fit {form_en} (at '{c}')"),
    (r"start '(?P<s>.*)' and acrostic '(?P<a>.*)' fit no pattern of form=(?P<form>\w+) under metre=(?P<metre>\w+)",
     "{subject_zh}在{form_zh}的「{metre_zh}」平仄下排不出格律：{looser_zh}，或换字",
     "the {subject_en} fit no pattern of {form_en} under '{metre}' tones: {looser_en}, or other characters"),
    (r"metre and rhyme need a fixed form",
     "平仄和押韵只用于绝句、律诗：请选一种体裁，或把平仄设为「不限」并取消「押韵」",
     "tones and rhyme need a 绝句 or 律诗 form: choose one, or set the tones to off and untick Rhyme"),
    (r"form=(?P<form>\w+) needs ， and 。", "这个模型不会写标点，只能写自由体",
     "this model cannot write punctuation: choose the free form"),
]


def for_the_page(error: str) -> str:
    """A refusal in the page's languages and words (Chinese, then English; the fields by their labels,
    not command-line keys), as two lines."""
    for pattern, chinese, english in PAGE_WORDS:
        match = re.match(pattern, error)
        if not match:
            continue
        found = {k: v or "" for k, v in match.groupdict().items()}
        form, metre, alt = found.get("form", ""), found.get("metre", ""), found.get("alt")
        field_zh, field_en = FIELDS.get(found.get("f"), ("", ""))
        looser_zh, looser_en = LOOSER.get(metre, ("", ""))
        given = [(found.get("s"), "起首字", "start"), (found.get("a"), "藏头", "acrostic")]
        subject = [(zh, en) for text, zh, en in given if text]
        words = dict(found, field_zh=field_zh, field_en=field_en, looser_zh=looser_zh, looser_en=looser_en,
                     form_zh="自由体" if form == "free" else FORM_NAMES.get(form, ""),
                     form_en=FORM_LABELS.get(form, ""), metre_zh=METRE_NAMES.get(metre, "").split(" ")[0],
                     subject_zh="和".join(zh for zh, _ in subject),
                     subject_en=" and ".join(en for _, en in subject) + " characters",
                     alt_zh=f"；可试读音相同（不计声调）的 {alt}" if alt else "；请换一个字",
                     alt_en=f"; try one read '{found['py']}': {alt}" if alt else "; choose another character")
        return f"⚠ {chinese.format(**words)}\n{english.format(**words)}"
    return error if error.startswith("⚠") else f"⚠ 输入有误\n{error}"


LOOSENED = re.compile(r"note: (?P<who>.+?): line (?P<line>\d+), character (?P<char>\d+): no character fitted the "
                      r"(?P<what>rhyme|tone)")
FREE_VERSE = re.compile(r"note: (?P<who>.+?): its .+ fit no .+, so it is free verse")  # form=auto's fallback


def note_for_the_page(note: str) -> str:
    """A note (input converted, a dead end loosened) with a Chinese line before generation's English one."""
    if note.startswith("note: input written as the corpus is"):
        return "注：输入已按语料的写法转换（简体、全角标点）\n" + note
    loosened = LOOSENED.match(note)
    if loosened:
        who = "诗" if loosened["who"] == "poem" else loosened["who"]
        where = f"第 {loosened['line']} 句第 {loosened['char']} 字"
        what = ("没有押得上韵的字，此处不押韵" if loosened["what"] == "rhyme" else
                "没有合平仄的字，此处不拘平仄和韵")  # the tone level gives up the rhyme as well
        return f"注：{who}：{where}{what}\n{note}"
    fallback = FREE_VERSE.match(note)
    if fallback:
        who = "诗" if fallback["who"] == "poem" else fallback["who"]
        return f"注：{who}：放不进模型起草的体裁，写成了自由体，不拘平仄和韵\n{note}"
    return note


def message_html(message: str) -> str:
    """The reply's message as the page shows it: a refusal in a red box, notes in a grey one, each line a
    paragraph; nothing for no message."""
    if not message:
        return ""
    kind = "error" if message.startswith("⚠") else "note"
    lines = "".join(f"<p>{html.escape(line)}</p>" for line in message.splitlines())
    return f'<div class="page-message {kind}" role="{"alert" if kind == "error" else "status"}">{lines}</div>'



@dataclass(frozen=True)
class Limits:
    """What one request may ask for, so that one visitor cannot stall the server."""

    max_poems: int = 8
    max_start: int = 16  # characters
    max_acrostic: int = 8
    max_prefix: int = 32
    max_title: int = TITLE_MAX_LEN
    max_temperature: float = 2.0
    max_len: int = 64  # characters of a free-form poem


@dataclass
class Reply:
    poems_html: str  # the poems, line by line
    probabilities: list  # (character, probability) for HighlightedText; (separator, None) between poems
    message: str  # what went wrong, or ""


class PoemWriter:
    """The page's one action: check and bound the request, sample, lay the poems out. Thread-safe."""

    def __init__(self, model, vocab, limits: Limits = Limits(), guidance: float = 1.0):
        self.model, self.vocab, self.limits, self.guidance = model, vocab, limits, guidance  # guidance_for
        self._lock = threading.Lock()  # one request at a time on the shared model

    def check(self, start: str, acrostic: str, prefix: str, temperature: float, top_p: float,
              num_poems: int, title: str = "") -> None:
        lim = self.limits
        for what, text, most in [("start", start, lim.max_start), ("acrostic", acrostic, lim.max_acrostic),
                                 ("prefix", prefix, lim.max_prefix), ("title", title, lim.max_title)]:
            if len(text) > most:
                raise LitPoetryError(f"⚠ {FIELDS[what][0]}最多 {most} 个字（现有 {len(text)} 个）\n"
                                     f"{FIELDS[what][1]}: at most {most} characters (got {len(text)})")
        if not 0 < temperature <= lim.max_temperature:
            raise LitPoetryError(f"⚠ 温度须在 0 与 {lim.max_temperature} 之间\n"
                                 f"Temperature must be in (0, {lim.max_temperature}], got {temperature:g}")
        if not 0 < top_p <= 1:
            raise LitPoetryError(f"⚠ Top-p 须在 0 与 1 之间\nTop-p must be in (0, 1], got {top_p:g}")
        if not 1 <= num_poems <= lim.max_poems:
            raise LitPoetryError(f"⚠ 首数须为 1 到 {lim.max_poems}\n"
                                 f"Poems: 1 to {lim.max_poems}, got {num_poems}")

    def write(self, start: str, acrostic: str, form: str, prefix: str, temperature: float, top_p: float,
              seed: float | None, num_poems: float, script: str, metre: str = AUTO, rhyme: bool = False,
              title: str = "", search: bool = True) -> Reply:
        """The page's request -> its Reply. `search` off is plain sampling: one draw a line, and no title
        drawn for an empty title box (generate.py's candidates=1 title=null)."""
        start, acrostic, prefix, title = (str(t or "").strip() for t in (start, acrostic, prefix, title))
        try:  # numbers only the API can send otherwise
            num_poems, temperature, top_p = int(num_poems or 0), float(temperature), float(top_p)
            seed = None if seed is None or int(seed) < 0 else int(seed)
        except (ValueError, TypeError, OverflowError):
            return Reply("", [], "⚠ 首数、温度、Top-p 和种子须为数字\n"
                                 "Poems, temperature, top-p and seed must be numbers")
        try:
            self.check(start, acrostic, prefix, temperature, top_p, num_poems, title)
            if seed is not None and seed >= 2**63:  # torch's seeds are 64-bit
                raise LitPoetryError(f"⚠ 种子须为 -1（随机）或 0 到 {2**63 - 1}\n"
                                     f"Seed: -1 (random) or 0 to {2**63 - 1}, got {seed}")
            with self._lock:
                poems = sample(self.model, self.vocab, [start] if start else None, num_poems, acrostic=acrostic,
                               form=form or "free", prefix=prefix, temperature=temperature,
                               top_p=top_p, max_len=self.limits.max_len, seed=seed,
                               metre=metre or "off", rhyme=bool(rhyme),
                               title=title or (AUTO if search else ""),  # empty: drawn, unless plain sampling
                               candidates=Search.candidates if search else 1, guidance=self.guidance)
                poems = in_script(poems, script or "simplified")
        except LitPoetryError as e:
            return Reply("", [], for_the_page(str(e)))
        traditional = script == "traditional"
        laid_out = ""
        for p in poems:  # form=auto: each poem in its own form, under the metre that form takes
            level, rhyming = resolved_metre(metre or "off", bool(rhyme), p.form)
            marked = level != "off" or rhyming
            laid_out += self._lay_out(lines_in(p, script), p.poem if marked else None,
                                      level if level in LEVELS else "relaxed", title_in(p, script), traditional)
        probabilities = []
        for k, poem in enumerate(poems):
            shown = poem.poem_traditional if traditional and len(poem.poem_traditional) == len(poem.poem) else poem.poem
            probabilities += ([("\n\n", None)] if k else []) + [(c, round(q, 4)) for c, q in
                                                                  zip(shown, poem.probabilities)]
        return Reply(laid_out, probabilities, "\n".join(note_for_the_page(n) for n in notes_of(poems)))


    @staticmethod
    def _lay_out(lines: list[str], checked_poem: str | None, level: str, title: str = "",
                 traditional: bool = False) -> str:
        """One poem, its title above it, line by line; under metre or rhyme, each line's 平仄 marks beneath
        it and the pattern (in the poem's script)."""
        verdict = check(checked_poem, level=level) if checked_poem else None
        out = [f'<p class="title">{html.escape(title)}</p>'] if title else []
        for k, line in enumerate(lines):
            out.append(f"<p>{html.escape(line)}</p>")
            if verdict and verdict.form and k < len(verdict.marks):
                out.append(f'<p class="marks">{"".join(verdict.marks[k])}</p>')
        if verdict and verdict.form:
            rhyme = f" · 韵 {verdict.rhyme_group}" if verdict.rhyme_group else ""
            pattern = f"{verdict.pattern.name}{rhyme} · ○平 ●仄 ◐可平可仄"
            out.append(f'<p class="pattern">{to_traditional(pattern) if traditional else pattern}</p>')
        return '<div class="poem">' + "".join(out) + "</div>"


def quiet(component: gr.components.Component) -> gr.components.Component:
    """`component`, except that a value its own check refuses (a slider's value beyond its range, a choice
    not in the list: what only the API can send) is one line in the server log and one message to the
    client, not the traceback Gradio prints for each. (The instance's method is wrapped: a subclass would
    make Gradio write a .pyi stub beside this module.)"""
    preprocess = component.preprocess

    def refusing(payload):
        try:
            return preprocess(payload)
        except gr.Error as e:
            print(f"page: refused {component.label}: {e.message}", file=sys.stderr)
            raise gr.Error(e.message, print_exception=False) from None

    component.preprocess = refusing
    return component


def build_page(writer: PoemWriter, defaults: dict) -> gr.Blocks:
    """`defaults`: the fields' starting values (form, temperature, top_p, seed, num_poems; configs/app.yaml)."""
    lim = writer.limits
    with gr.Blocks(title="lit-poetry · 唐诗") as page:
        gr.Markdown("# 唐诗 · Tang poetry\n字符级语言模型写诗。"
                    "A character-level language model writes poems.")
        with gr.Row():
            with gr.Column(scale=1):
                acrostic = gr.Textbox(label="藏头 Acrostic", placeholder="春夏秋冬", elem_id="acrostic")
                start = gr.Textbox(label="起首字 Start characters", placeholder="月", elem_id="start")
                form = gr.Dropdown(FORM_CHOICES, value=defaults["form"], label="体裁 Form", elem_id="form")
                title = gr.Textbox(label="题目 Title (the poem's theme; empty: a Tang title is drawn)",
                                   placeholder="秋夜", elem_id="title")
                prefix = gr.Textbox(label="意境 Mood prefix (not printed)", placeholder="秋风萧瑟", elem_id="prefix")
                with gr.Row():
                    temperature = gr.Slider(0.05, lim.max_temperature, value=defaults["temperature"], step=0.05,
                                            label="温度 Temperature", elem_id="temperature")
                    top_p = gr.Slider(0.05, 1.0, value=defaults["top_p"], step=0.05, label="Top-p", elem_id="top_p")
                with gr.Row():
                    seed = gr.Number(value=defaults["seed"], precision=0, label="种子 Seed (-1: random)",
                                     elem_id="seed")
                    num_poems = gr.Slider(1, lim.max_poems, value=defaults["num_poems"], step=1,
                                          label="首数 Poems", elem_id="num_poems")
                with gr.Row():
                    metre = gr.Radio(METRE_CHOICES, value="auto", label="平仄 Tones (fixed forms)", elem_id="metre")
                    rhyme = gr.Checkbox(value=False, label="押韵 Rhyme (平水韵)", elem_id="rhyme")
                search = gr.Checkbox(value=True, elem_id="search",
                                     label=f"择优 Search: {Search.candidates} candidates a line, the best kept "
                                           "(off: plain sampling, and no title drawn)")
                script = gr.Radio(SCRIPT_CHOICES, value="simplified", label="字体 Script", elem_id="script")
                button = gr.Button("写诗 Write", variant="primary", elem_id="write")
            with gr.Column(scale=1):
                message = gr.HTML(elem_id="message")
                poems = gr.HTML(elem_id="poems")
                with gr.Accordion("每字概率 Probability of each character", open=False):
                    probabilities = gr.HighlightedText(label="模型给每个字的概率 p(character)", show_legend=False,
                                                       elem_id="probabilities")

        def on_click(*args):
            reply = writer.write(*args)
            return reply.poems_html, reply.probabilities, message_html(reply.message)

        inputs = [start, acrostic, form, prefix, temperature, top_p, seed, num_poems, script, metre, rhyme, title,
                  search]
        for field in inputs:
            quiet(field)
        button.click(on_click, inputs, [poems, probabilities, message], api_name="write")
    return page


# Debian's Chromium as the tests and the screenshot command drive the page: headless, no sandbox (root in
# CI), no background traffic (the page must work, and be tested, with no outside connection)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def launch(page: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, max_queue: int = 64,
           block: bool = True) -> str:
    """Serve the page on host:port (port 0: a free one) and return its URL; `block=False` returns at once
    (tests, benchmarks; `page.close()` stops it)."""
    if port == 0:
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
    page.queue(default_concurrency_limit=1, max_size=max_queue)
    page.launch(server_name=host, server_port=port, css=CSS, show_error=False, quiet=True,
                prevent_thread_lock=not block)
    return f"http://{host}:{port}/"


def serve(cfg) -> None:
    """Load the checkpoint and serve the page until interrupted (configs/app.yaml)."""
    from lit_poetry.checkpoint import load_for_use

    trained = load_for_use(cfg.ckpt_path, cfg.device)  # without ckpt_path: the shipped model
    model, vocab = trained.model, trained.vocab
    writer = PoemWriter(model, vocab, Limits(max_poems=cfg.max_poems), guidance_for(trained.data))
    print(f"lit-poetry page on http://{cfg.host}:{cfg.port} (Ctrl+C stops it)")
    launch(build_page(writer, dict(cfg.fields)), cfg.host, cfg.port, cfg.max_queue)
