"""One settings surface: every QA_* variable is read by qa.config.settings(), and the README lists them."""
import re
from pathlib import Path

import pytest

from qa.config import ENVIRONMENT, AnswerConfig, Settings, fitted_weights, settings

ROOT = Path(__file__).resolve().parent.parent


def test_no_other_module_reads_the_environment():
    readers = re.compile(r"os\.environ\.get\(|os\.getenv\(|os\.environ\[\"QA_|environ\.get\(\"QA_")
    offenders = [str(p.relative_to(ROOT)) for p in [*(ROOT / "qa").rglob("*.py"), ROOT / "app.py"]
                 if p.name != "config.py" and readers.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_every_qa_variable_in_the_code_is_declared_and_in_the_readme():
    declared = {v.name for v in ENVIRONMENT} | {a for v in ENVIRONMENT for a in v.also}
    mentioned = set()
    for p in [*(ROOT / "qa").rglob("*.py"), ROOT / "app.py"]:
        mentioned |= set(re.findall(r"\bQA_[A-Z_]+[A-Z]\b", p.read_text(encoding="utf-8")))
    assert mentioned <= declared, mentioned - declared
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [v.name for v in ENVIRONMENT if f"`{v.name}`" not in readme] == []


def test_settings_are_typed_and_read_when_asked():
    s = settings({"QA_TOP_K": "3", "QA_LOCK_TIMEOUT": "2.5", "QA_DEBUG": "1", "QA_MODEL_CACHE": "/tmp/m",
                  "OPENAI_API_KEY": "k", "QA_STORE": "postgresql://h/db"})
    assert isinstance(s, Settings) and s.top_k == 3 and s.lock_timeout == 2.5 and s.debug is True
    assert s.cache_dir == Path("/tmp/m") and s.openai_api_key == "k"  # the older names still count
    assert s.location == "postgresql://h/db" and settings({}).location == "index_store"
    assert settings({"QA_CACHE_DIR": "/a", "QA_MODEL_CACHE": "/b"}).cache_dir == Path("/a")
    assert settings({"XDG_CACHE_HOME": "/x"}).cache_dir == Path("/x/newsqa")


def test_a_bad_value_names_the_variable():
    with pytest.raises(ValueError, match="QA_TOP_K='many'"):
        settings({"QA_TOP_K": "many"})


def test_the_answerer_reads_its_fitted_weights_from_the_data_file():
    c = AnswerConfig()
    w = fitted_weights()
    assert c.sentence_weights == w["sentence_weights"] and c.abstain_threshold_dated == w["abstain_threshold_dated"]
    c.sentence_weights["lead"] = 99.0  # each config has its own copy
    assert AnswerConfig().sentence_weights["lead"] == w["sentence_weights"]["lead"]
