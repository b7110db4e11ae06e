"""The run's one speed figure: from the records in its outputs, over the time any job stylized."""

from adain.stages.speed import DONE, FINISHED, STARTED, stylize_speed


def _job(start: float, end: float, done: int) -> dict:
    return {STARTED: start, FINISHED: end, DONE: done}


def test_one_job_at_a_time_is_a_jobs_speed():
    assert stylize_speed([_job(0, 10, 20)]) == 2.0
    assert stylize_speed([_job(0, 10, 20), _job(10, 20, 40)]) == 3.0


def test_jobs_side_by_side_count_together_and_pauses_do_not_count():
    side_by_side = [_job(0, 10, 20), _job(0, 10, 20)]
    assert stylize_speed(side_by_side) == 4.0
    overlapping = [_job(0, 10, 10), _job(5, 15, 10)]  # busy 0..15
    assert abs(stylize_speed(overlapping) - 20 / 15) < 1e-12
    a_day_later = [_job(0, 10, 20), _job(86_400, 86_410, 20)]  # a second run, the next day
    assert stylize_speed(a_day_later) == 2.0


def test_records_without_times_are_left_out():
    repaired = {"stylize_seconds": 0.0, STARTED: None, FINISHED: None}  # a report remade from a final shard
    assert stylize_speed([repaired]) == 0.0 and stylize_speed([]) == 0.0
    assert stylize_speed([repaired, _job(0, 4, 8)]) == 2.0
