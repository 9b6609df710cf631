"""eval/answers_changed.py: which changed answers it picks and how it counts them."""
import importlib.util
import json
from pathlib import Path

_spec = importlib.util.spec_from_file_location("answers_changed",
                                               Path(__file__).parent.parent / "eval" / "answers_changed.py")
changed = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(changed)


def _rows(path, answers):
    path.write_text("".join(json.dumps({"id": f"q{i}", "question": f"Q{i}?", "gold": ["x"], "as_of": None,
                                        "answerable": True, "abstained": False, "answer": a, "correct": a == "x"})
                            + "\n" for i, a in enumerate(answers)), encoding="utf-8")
    return str(path)


def test_few_changed_answers_are_each_picked_once(tmp_path, capsys):
    before = _rows(tmp_path / "b.jsonl", ["x", "y", "x", "z", "x"])
    after = _rows(tmp_path / "a.jsonl", ["y", "x", "x", "x", "x"])
    picked = changed.main([before, after, "--n", "10"])
    assert picked == ["q0", "q1", "q3"]  # not q0 three times over
    assert "3 of 5 answers changed: 2 became right, 1 became wrong" in capsys.readouterr().out


def test_many_changed_answers_are_picked_spread_over_the_file(tmp_path, capsys):
    before = _rows(tmp_path / "b.jsonl", ["y"] * 20)
    after = _rows(tmp_path / "a.jsonl", ["x"] * 20)
    assert changed.main([before, after, "--n", "4"]) == ["q0", "q5", "q10", "q15"]
