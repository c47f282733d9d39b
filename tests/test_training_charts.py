"""Training curves: PNG charts per save step and the optional TensorBoard mirror."""

from latentsync.training.charts import MetricsLogger


def test_curves_are_charted_and_mirrored_to_tensorboard(tmp_path):
    metrics = MetricsLogger(tmp_path, report_to="tensorboard")
    for step in range(1, 4):
        metrics.log(step, loss=1.0 / step, sync_conf=float(step))
    chart = metrics.save_chart(3)
    assert chart == tmp_path / "loss_charts" / "chart-3.png" and chart.read_bytes()[:4] == b"\x89PNG"
    assert metrics.history["loss"]["steps"] == [1, 2, 3]
    metrics.writer.flush()
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
