"""The page, through its API (gradio_client) and in a real browser (Playwright driving Debian's Chromium)."""

import html
import os
import re
import shutil

import pytest

gr = pytest.importorskip("gradio", reason="the page needs pip install -e '.[web]'")

from lit_poetry.app import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    Limits,
    PoemWriter,
    build_page,
    launch,
    message_html,
)
from lit_poetry.checkpoint import load_poetry_lm  # noqa: E402
from lit_poetry.text import is_han  # noqa: E402


@pytest.fixture(scope="module")
def writer(tiny_checkpoint):
    model, vocab = load_poetry_lm(tiny_checkpoint)
    return PoemWriter(model, vocab, Limits(max_poems=4))


@pytest.fixture(scope="module")
def url(writer):
    os.environ["no_proxy"] = "127.0.0.1,localhost"  # the test environment sends other http to a closed port
    fields = {"form": "free", "temperature": 0.8, "top_p": 0.9, "seed": 0, "num_poems": 1}
    page = build_page(writer, fields)
    yield launch(page, "127.0.0.1", 0, block=False)
    page.close()


def lines_of(poems_html: str) -> list[list[str]]:
    poems = poems_html.split('<div class="poem">')[1:]
    return [[line.split("</p>")[0] for line in poem.split("<p>")[1:]] for poem in poems]


def assert_acrostic_qijue(poems: list[list[str]], heads: str) -> None:
    assert poems
    for lines in poems:
        assert [line[0] for line in lines] == list(heads)
        assert all(len(line) == 8 and all(is_han(c) for c in line[:7]) for line in lines), lines


def text_of(message_html: str) -> str:
    """The page's message as a reader sees it: its paragraphs, one per line."""
    return html.unescape(re.sub(r"<[^>]+>", "\n", message_html)).strip().replace("\n\n", "\n")


def ask(client, start="", acrostic="", form="qijue", prefix="", temperature=0.8, top_p=0.9, seed=0, poems=1,
        script="simplified", metre="off", rhyme=False, title=""):
    """One request through the page's API, in the order of its fields."""
    return client.predict(start, acrostic, form, prefix, temperature, top_p, seed, poems, script, metre, rhyme,
                          title, api_name="/write")


def test_api_writes_bounded_poems_and_explains_bad_input(url, capfd):
    from gradio_client import Client

    client = Client(url, verbose=False)
    poems_html, probabilities, message = ask(client, acrostic="春夏秋冬", seed=3, poems=2)
    assert message == "" and len(lines_of(poems_html)) == 2
    assert_acrostic_qijue(lines_of(poems_html), "春夏秋冬")
    scored = [p for p in probabilities if p["class_or_confidence"] is not None]
    assert len(scored) == 2 * 4 * 8 and all(0 < p["class_or_confidence"] <= 1 for p in scored)
    for kwargs, chinese, english in [  # #41: in the page's languages and words, not command-line keys
        (dict(start="龘"), "起首字里的「龘」模型不认识", "Start characters: the model does not know '龘'"),
        (dict(acrostic="春夏秋冬春"), "藏头「春夏秋冬春」有 5 个字，七言绝句只有 4 句",
         "the acrostic has 5 characters; 七言绝句 7×4 has 4 lines"),
        (dict(start="月" * 40, form="free"), "起首字最多 16 个字（现有 40 个）",
         "Start characters: at most 16 characters (got 40)"),
        (dict(acrostic="春夏秋冬", metre="every"), "藏头在七言绝句的「全」平仄下排不出格律：请选「宽」，或换字",
         "the acrostic characters fit no pattern of 七言绝句 7×4 under 'every' tones: choose relaxed"),
    ]:
        poems_html, _, message = ask(client, **kwargs)
        assert poems_html == "" and 'class="page-message error"' in message, message
        first, second = text_of(message).splitlines()
        assert chinese in first and english in second and not re.search(r"\w=\w", second), message
    capfd.readouterr()
    for kwargs in [dict(temperature=0), dict(temperature=50), dict(poems=500)]:  # outside the sliders
        with pytest.raises(Exception, match="minimum|maximum"):
            ask(client, **kwargs)
    with pytest.raises(Exception, match="not in the list of choices"):  # what only the API can send
        ask(client, form="sonnet")
    log = capfd.readouterr().err  # the server's log: one line per refusal, no traceback
    assert "Traceback" not in log and log.count("page: refused") == 4, log
    # traditional in (converted), traditional out; the server still serves after every refusal
    poems_html, _, message = ask(client, acrostic="風花雪月", form="wujue", seed=1, script="traditional")
    assert [line[0] for line in lines_of(poems_html)[0]] == list("風花雪月")
    assert 'class="page-message note"' in message  # the page shows the conversion
    assert text_of(message).splitlines() == [
        "注：输入已按语料的写法转换（简体、全角标点）",
        "note: input written as the corpus is (simplified, full-width punctuation): acrostic 風花雪月 -> 风花雪月"]
    # tones and rhyme: each line's marks beneath it, and the pattern
    poems_html, _, message = ask(client, start="月", form="wujue", metre="relaxed", rhyme=True, seed=4)
    assert message == "" and poems_html.count('class="marks"') == 4 and "五言绝句" in poems_html


@pytest.mark.parametrize("kwargs, expected", [
    (dict(temperature=0), "⚠ 温度须在 0 与 2.0 之间\nTemperature must be in (0, 2.0], got 0"),
    (dict(temperature=50), "⚠ 温度须在 0 与 2.0 之间\nTemperature must be in (0, 2.0], got 50"),
    (dict(top_p=0), "⚠ Top-p 须在 0 与 1 之间\nTop-p must be in (0, 1], got 0"),
    (dict(num_poems=500), "⚠ 首数须为 1 到 4\nPoems: 1 to 4, got 500"),
    (dict(prefix="秋" * 33), "⚠ 意境最多 32 个字（现有 33 个）\nMood prefix: at most 32 characters (got 33)"),
    (dict(num_poems="many"), "⚠ 首数、温度、Top-p 和种子须为数字\nPoems, temperature, top-p and seed must be numbers"),
])
def test_writer_bounds_every_request(writer, kwargs, expected):
    """The same checks guard direct calls of the page's function (the sliders bound the browser)."""
    request = dict(start="", acrostic="", form="wujue", prefix="", temperature=0.8, top_p=0.9, seed=0, num_poems=1,
                   script="simplified") | kwargs
    reply = writer.write(**request)
    assert reply.poems_html == "" and reply.message == expected


@pytest.mark.parametrize("request_, chinese", [
    (dict(start="山", acrostic="春夏秋冬"), "⚠ 起首字须以藏头的第一个字「春」开头"),
    (dict(start="月，"), "⚠ 起首字「月，」放不进五言绝句（在「，」处）"),
    (dict(form="free", metre="relaxed"), "⚠ 平仄和押韵只用于绝句、律诗"),
    (dict(form="free", metre="off", rhyme=True), "⚠ 平仄和押韵只用于绝句、律诗"),
    (dict(start="春江花风", metre="relaxed"),
     "⚠ 起首字在五言绝句的「宽」平仄下排不出格律：请把平仄设为「不限」，或换字"),
])
def test_every_refusal_generation_gives_is_said_in_the_page_words(writer, request_, chinese):
    """Generation's own messages, raised for real, reach the page in its words: a pattern that stopped
    matching them would fall back to a bare 输入有误."""
    request = dict(start="", acrostic="", form="wujue", prefix="", temperature=0.8, top_p=0.9, seed=0, num_poems=1,
                   script="simplified") | request_
    first, english = writer.write(**request).message.splitlines()
    assert first.startswith(chinese) and not re.search(r"\w=\w", english), (first, english)


def test_the_model_picks_the_form_on_the_page_as_in_generate_py(writer):
    """form=auto: each poem in the form its draft took, its tones marked under that form; a start that fits
    no pattern of it is free verse, and the note says so in both languages."""
    reply = writer.write("", "", "auto", "", 0.8, 0.9, 3, 4, "simplified", "auto", False)
    poems = lines_of(reply.poems_html)
    assert len(poems) == 4 and reply.poems_html.count('class="pattern"') == 4
    assert all(len(lines) in (4, 8) and len({len(line) for line in lines}) == 1 for lines in poems), poems
    unfit = writer.write("日月木石竹", "", "auto", "", 0.8, 0.9, 0, 1, "simplified", "relaxed", False)
    assert 'class="pattern"' not in unfit.poems_html
    said = text_of(message_html(unfit.message)).splitlines()
    assert said[0] == "注：日月木石竹：放不进模型起草的体裁，写成了自由体，不拘平仄和韵" and "free verse" in said[1]


def test_in_traditional_the_pattern_and_the_probabilities_are_traditional_too(writer):
    """#41: with 繁體 chosen, the pattern line and the probability panel stayed simplified."""
    reply = writer.write("", "風花雪月", "wujue", "", 0.8, 0.9, 1, 1, "traditional", "relaxed", True)
    pattern = re.search(r'<p class="pattern">(.*?)</p>', reply.poems_html)[1]
    assert "五言絕句" in pattern and "绝" not in pattern
    shown = "".join(c for c, q in reply.probabilities if q is not None)
    assert shown == "".join(lines_of(reply.poems_html)[0]) and shown[0] == "風"


def test_writer_is_the_generation_code_path(writer):
    """The page adds no sampler: the same seed gives the poem generate.py's sample() gives."""
    from lit_poetry.generation import sample

    reply = writer.write("月", "", "wujue", "", 0.8, 0.9, 5, 1, "simplified")
    (poem,) = sample(writer.model, writer.vocab, ["月"], 1, form="wujue", temperature=0.8, top_p=0.9, seed=5,
                     max_len=64, metre="auto")
    assert lines_of(reply.poems_html) == [poem.lines]


def test_search_off_is_plain_sampling_without_a_drawn_title(titled_checkpoint):
    """Item 5 of #40 on the page: the search box unticked writes what generate.py's candidates=1 title=null
    writes (plain sampling), where the defaults draw a title and choose among candidates."""
    from lit_poetry.generation import sample

    model, vocab = load_poetry_lm(titled_checkpoint)
    titled = PoemWriter(model, vocab)
    plain = titled.write("月", "", "wujue", "", 0.8, 0.9, 5, 2, "simplified", "off", False, "", False)
    expected = sample(model, vocab, ["月"], 2, form="wujue", temperature=0.8, top_p=0.9, seed=5, max_len=64,
                      candidates=1, title="")
    assert lines_of(plain.poems_html) == [p.lines for p in expected] and 'class="title"' not in plain.poems_html
    searched = titled.write("月", "", "wujue", "", 0.8, 0.9, 5, 2, "simplified", "off", False, "", True)
    assert searched.poems_html.count('class="title"') == 2
    assert lines_of(searched.poems_html) != lines_of(plain.poems_html)


def test_the_page_writes_on_a_title_and_shows_it(titled_checkpoint, writer):
    model, vocab = load_poetry_lm(titled_checkpoint)
    titled = PoemWriter(model, vocab, Limits(max_poems=4))
    reply = titled.write("", "", "wujue", "", 0.8, 0.9, 0, 2, "traditional", "auto", False, "《长安》")
    assert reply.poems_html.count('<p class="title">長安</p>') == 2 and len(lines_of(reply.poems_html)[0]) == 4
    assert "title 《长安》 -> 长安" in reply.message
    drawn = titled.write("", "", "wujue", "", 0.8, 0.9, 0, 1, "simplified")  # an empty title box: one is drawn
    assert drawn.poems_html.count('<p class="title">') == 1 and len(lines_of(drawn.poems_html)[0]) == 4
    untitled = writer.write("", "", "wujue", "", 0.8, 0.9, 0, 1, "simplified")  # a model without titles: none
    assert 'class="title"' not in untitled.poems_html and len(lines_of(untitled.poems_html)[0]) == 4
    assert "at most 16" in titled.write("", "", "wujue", "", 0.8, 0.9, 0, 1, "simplified", title="秋" * 17).message
    refused = writer.write("", "", "wujue", "", 0.8, 0.9, 0, 1, "simplified", title="秋夜")  # a model without titles
    assert refused.poems_html == "" and refused.message.startswith("⚠ 这个模型训练时没有题目")
    assert "trained without titles" in refused.message and "title=" not in refused.message


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM) or shutil.which("chromium") is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs {CHROMIUM}: apt-get install chromium fonts-wqy-microhei")
        pytest.skip(f"no {CHROMIUM} (apt-get install chromium fonts-wqy-microhei); the browser tests need it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def write(page, acrostic: str, form_label: str | None = None) -> None:
    page.locator("#acrostic textarea").fill(acrostic)
    if form_label:
        page.locator("#form input").click()
        page.get_by_role("option", name=form_label).click()
    page.locator("#write").click()


def test_in_a_browser_an_acrostic_qijue_then_a_bad_character_then_a_poem_again(url, browser):
    page = browser.new_page()
    page.goto(url)
    write(page, "春夏秋冬", "七言绝句 7×4")
    page.wait_for_selector("#poems .poem p")
    assert_acrostic_qijue([page.locator("#poems .poem p:not(.marks):not(.pattern)").all_inner_texts()], "春夏秋冬")

    write(page, "龘")
    page.wait_for_function("document.querySelector('#message').innerText.includes('龘')")
    chinese, english = [line for line in page.locator("#message").inner_text().splitlines() if line.strip()]
    assert chinese.startswith("⚠ 藏头里的「龘」模型不认识；可试读音相同（不计声调）的 大")  # the tiny model's da
    assert english.startswith("Acrostic: the model does not know '龘'; try one read 'da': 大")
    style = "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e.querySelector('p')).color]"
    assert page.eval_on_selector("#message .page-message", style) == ["rgb(254, 243, 242)", "rgb(180, 35, 24)"]
    assert page.locator("#poems .poem").count() == 0

    write(page, "山水")
    page.wait_for_selector("#poems .poem p")
    assert page.locator("#message").inner_text().strip() == ""
    verse = page.locator("#poems .poem p:not(.marks):not(.pattern)").all_inner_texts()
    assert [line[0] for line in verse[:2]] == ["山", "水"]
    page.close()


def test_in_a_browser_the_input_conversion_is_shown(url, browser):
    page = browser.new_page()
    page.goto(url)
    write(page, "風花雪月", "五言绝句 5×4")
    page.wait_for_selector("#poems .poem p")
    page.wait_for_function("document.querySelector('#message').innerText.includes('風花雪月 -> 风花雪月')")
    assert "input written as the corpus is" in page.locator("#message").inner_text()
    page.close()


def test_the_page_says_where_a_dead_end_loosened_the_metre():
    """A vocabulary with no 仄 character: strict metre cannot hold, and the reply says where it gave way."""
    import torch

    from lit_poetry.data.vocab import Vocabulary
    from lit_poetry.metre import PING, tone_table
    from lit_poetry.models.lstm_lm import LSTMLM

    vocab = Vocabulary([*[c for c in "东风红中天山春花年人心" if tone_table().tones_of(c) == {PING}], "，", "。"])
    torch.manual_seed(0)
    writer = PoemWriter(LSTMLM(len(vocab), embedding_dim=8, hidden_size=8), vocab, Limits())
    reply = writer.write("", "", "wujue", "", 0.8, 0.9, 0, 1, "simplified", metre="strict", rhyme=True)
    assert reply.poems_html and "which was dropped there" in reply.message and "tone" in reply.message
    assert reply.message.splitlines()[0].startswith("注：诗：第 1 句第 2 字没有合平仄的字，此处不拘平仄和韵")


@pytest.mark.parametrize("seed", [1e30, 2**63])
def test_a_seed_beyond_64_bits_is_one_message_and_the_page_serves_on(writer, seed):
    reply = writer.write("月", "", "wujue", "", 0.8, 0.9, seed, 1, "simplified")
    assert reply.message.startswith("⚠ 种子须为 -1（随机）或 0 到") and "Overflow" not in reply.message
    assert reply.message.splitlines()[1].startswith("Seed: -1 (random) or 0 to")
    assert writer.write("月", "", "wujue", "", 0.8, 0.9, 7, 1, "simplified").message == ""
