import hashlib

import pytest

from lit_poetry.data.corpora import read_corpus
from lit_poetry.data.download import extract, fetch
from lit_poetry.errors import LitPoetryError

from .helpers import make_tarball


def test_extract_writes_the_layout_the_readers_use(tmp_path, data_dir):
    tarball = make_tarball(tmp_path / "cp.tgz", data_dir)
    files = extract(tarball, tmp_path / "data")
    assert sorted(f.relative_to(tmp_path / "data").as_posix() for f in files) == [
        "chinese-poetry/mengxue/tangshisanbaishou.json", "chinese-poetry/quantangshi/poet.tang.0.json"]
    assert len(read_corpus("tang", tmp_path / "data")) == len(read_corpus(str(files[1])))
    assert read_corpus("tang300", tmp_path / "data") == read_corpus("tang300", data_dir)
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["chinese-poetry"]  # no staging folder left


def test_wrong_tarball_writes_nothing(tmp_path, data_dir):
    tarball = make_tarball(tmp_path / "cp.tgz", data_dir, with_quantangshi=False)
    with pytest.raises(LitPoetryError, match="not a chinese-poetry 2.x tarball"):
        extract(tarball, tmp_path / "data")
    assert not any((tmp_path / "data").iterdir())


def test_fetch_checks_the_sha1(tmp_path, data_dir):
    tarball = make_tarball(tmp_path / "cp.tgz", data_dir)
    good = hashlib.sha1(tarball.read_bytes()).hexdigest()
    out = fetch(tarball.as_uri(), tmp_path / "copy.tgz", good)  # a file:// URL: no network in tests
    assert out.read_bytes() == tarball.read_bytes()
    with pytest.raises(LitPoetryError, match="SHA-1"):
        fetch(tarball.as_uri(), tmp_path / "bad.tgz", "0" * 40)
    assert not (tmp_path / "bad.tgz").exists() and not (tmp_path / "bad.tgz.part").exists()
