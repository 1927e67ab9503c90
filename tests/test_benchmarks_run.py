"""``benchmarks.run``: measuring one quality module again replaces its rows and keeps the others."""

from benchmarks.run import merge_rows, section_rows

RESULTS = """# Benchmark results

## Autograding

| metric | value | target | configuration |
|---|---|---|---|
| grading time | 3 s | <= 5 s | 1 worker |

## Model quality

| metric | value | target | configuration |
|---|---|---|---|
| PCA error | 0.5 | reported | notebook: 8 components |
| ring gap (nats) | 0.512 (NLL 2.2) | <= 0.05 | notebook: 8 layers |
| GAN modes | 8/8 | 8/8 | notebook: 800 steps |
"""


def test_a_section_is_read_back_row_by_row():
    rows = section_rows(RESULTS, "Model quality")
    assert [r["metric"] for r in rows] == ["PCA error", "ring gap (nats)", "GAN modes"]
    assert rows[1] == {"metric": "ring gap (nats)", "value": "0.512 (NLL 2.2)", "target": "<= 0.05",
                       "config": "notebook: 8 layers"}
    assert section_rows(RESULTS, "Widgets") == []


def test_rows_measured_again_replace_theirs_in_place_and_new_ones_come_last():
    old = section_rows(RESULTS, "Model quality")
    new = [{"metric": "ring gap (nats)", "value": "0.4", "target": "<= 0.05", "config": "notebook: 8 layers, lr 1e-3"},
           {"metric": "ring gap (nats)", "value": "0.04", "target": "<= 0.05", "config": "full: 24 layers"}]
    merged = merge_rows(old, new)
    assert [(r["metric"], r["value"]) for r in merged] == [
        ("PCA error", "0.5"), ("ring gap (nats)", "0.4"), ("GAN modes", "8/8"), ("ring gap (nats)", "0.04")]


def test_a_pipe_inside_a_cell_is_escaped_and_read_back(tmp_path, monkeypatch):
    import benchmarks.run as run

    monkeypatch.setattr(run, "RESULTS", tmp_path / "RESULTS.md")
    row = {"metric": "|rank correlation| of code and z", "value": "0.99", "target": "> 0.95", "config": "notebook: a | b"}
    run.write({"Model quality": [row]})
    text = run.RESULTS.read_text()
    table_line = next(line for line in text.splitlines() if "rank correlation" in line)
    assert table_line.count("|") - table_line.count("\\|") == 5          # four cells, whatever the text holds
    assert section_rows(text, "Model quality") == [row]
