"""Command line of the course: ``accelkit examples | grade | scores | validate | margins |
calibrate | bench``."""
from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections import defaultdict
from pathlib import Path

from accelkit import course
from accelkit.grading import sandbox


def _db_url(root: Path) -> str:
    """The gradebook nbgrader_config.py names (CourseDirectory.db_url): SQLite in the course
    folder by default, or a shared server such as PostgreSQL."""
    return course.setting(root, "CourseDirectory", "db_url", "sqlite:///" + str(root / "gradebook.db"))


DEMO_STUDENTS = {"reference", "stub", "naive", "edge_bug", "blas", "monkeypatch", "segfault",
                 "capstone_no_causal_mask", "capstone_elementwise_only"}


def cmd_examples(args) -> int:
    examples = course.load_examples(args.root / "grader_tests" / "submissions")
    if not args.all:
        examples = [e for e in examples if e.student in DEMO_STUDENTS]
    if not sandbox.available():
        skipped = [e.student for e in examples if e.needs_sandbox]
        examples = [e for e in examples if not e.needs_sandbox]
        print(f"no sandbox here: leaving out {', '.join(skipped)} (it would really damage the "
              "course folder)")
    students = course.place_examples(args.root, examples)
    print(f"placed {len(examples)} example submissions in submitted/: {', '.join(students)}")
    return 0


def score_tables(root: Path, students: list) -> dict:
    """{notebook: (functions, [(student, {function: [score, max]})])} from the gradebook."""
    known = course.student_functions(root)
    db_url = _db_url(root)  # read from nbgrader_config.py once, not per student
    tables: dict = {}
    for student in students:
        per_notebook = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))
        for (notebook, grade_id), (score, max_score) in course.cell_scores(db_url, student).items():
            cell = per_notebook[notebook][course.function_of(grade_id, known)]
            cell[0] += score or 0.0
            cell[1] += max_score
        for notebook, scores in per_notebook.items():
            if not (root / "submitted" / student / course.ASSIGNMENT / f"{notebook}.ipynb").exists():
                continue  # nbgrader lists a notebook nobody submitted with zeros
            functions, rows = tables.setdefault(notebook, ([], []))
            functions.extend(f for f in scores if f not in functions)
            rows.append((student, dict(scores)))
    return dict(sorted(tables.items()))


def flagged_cells(root: Path, student: str, notebook: str) -> dict:
    """{solution cell: what it reached for} that the grader flagged for review in a student's
    autograded notebook (empty if none, or not autograded)."""
    path = root / "autograded" / student / course.ASSIGNMENT / f"{notebook}.ipynb"
    try:
        return json.loads(path.read_text()).get("metadata", {}).get("accelkit", {}).get("flagged", {})
    except (OSError, ValueError):
        return {}


def cmd_scores(args) -> int:
    from nbgrader.api import Gradebook
    from rich.console import Console
    from rich.table import Table

    with Gradebook(_db_url(args.root)) as gradebook:
        students = sorted(s.student.id for s in
                          gradebook.find_assignment(course.ASSIGNMENT).submissions)
    console = Console(width=max(Console().width, 120))
    core = course.core_path(args.root)
    for notebook, (functions, rows) in score_tables(args.root, students).items():
        on_path = [f for f in functions if f in core.get(notebook, {}).get("functions", [])]
        table = Table(title=f"{notebook}: autograded points by function")
        table.add_column("student")
        for name in functions:
            table.add_column(name, justify="right")
        table.add_column("core", justify="right")
        table.add_column("total", justify="right", style="bold")
        review = []
        for student, scores in rows:
            cells = [f"{scores[f][0]:g}/{scores[f][1]:g}" if f in scores else "-" for f in functions]
            total = sum(s for s, _ in scores.values()), sum(m for _, m in scores.values())
            kept = [scores[f] for f in on_path if f in scores]
            core_total = f"{sum(s for s, _ in kept):g}/{sum(m for _, m in kept):g}"
            table.add_row(student, *cells, core_total, f"{total[0]:g}/{total[1]:g}")
            review += [f"flagged for review: {student}, {cell} of {notebook} uses {', '.join(used)}"
                       for cell, used in flagged_cells(args.root, student, notebook).items()]
        console.print(table)
        for line in review:  # below the table: a narrow terminal must not cut it off
            console.print(line, soft_wrap=True)
    return 0


def cmd_margins(args) -> int:
    """The measured speedups of every example next to the thresholds, from autograded/."""
    from accelkit.grading import calibration
    print("| notebook | test cell | student | measured speedups (median) | thresholds |")
    print("|---|---|---|---|---|")
    for nb_path in sorted((args.root / "autograded").glob(f"*/{course.ASSIGNMENT}/*.ipynb")):
        student = nb_path.parts[-3]
        for grade_id, runs in calibration.measured(nb_path).items():
            measured = ", ".join(f"{r['speedup']:.1f}x" for r in runs)
            thresholds = sorted({t for r in runs for t in r["thresholds"]})
            print(f"| {nb_path.stem} | {grade_id} | {student} | {measured} | "
                  f"{', '.join(f'{t:g}x' for t in thresholds)} |")
    return 0


def cmd_calibrate(args) -> int:
    """Grade the reference and naive examples here; store every threshold's margins with this
    machine's fingerprint (calibration.json). Exits 1 when a threshold does not fit."""
    from rich.console import Console
    from rich.table import Table

    from accelkit.grading import calibration

    console = Console(width=max(Console().width, 120))
    console.print("grading the reference and naive examples on this machine (a few minutes)...")
    rows, seconds, proc = calibration.calibrate(args.root, args.notebooks, args.keep)
    if proc.returncode != 0 or not rows:
        console.print(f"[red]calibration failed[/red]: autograde exited {proc.returncode}\n"
                      + proc.stderr[-2000:])
        return 1
    data = calibration.record(args.root, rows, seconds)
    table = Table(title=f"speed thresholds on this machine ({data['fingerprint']['cpu']}, "
                        f"{data['fingerprint']['cores']} cores)")
    for column in ("notebook", "test cell", "threshold", "reference", "naive", "margins", "status"):
        table.add_column(column, justify="right" if column in ("threshold", "reference", "naive") else "left")
    style = {"ok": "green", "thin": "yellow", "fails": "bold red"}
    for r in rows:
        below = f"{r['margin_below']:.2f}x" if r["margin_below"] else "–"
        table.add_row(r["notebook"], f"{r['cell']}" + (f" #{r['check'] + 1}" if r["check"] else ""),
                      f"{r['threshold']:g}x", f"{r['reference']:.2f}x",
                      f"{r['naive']:.2f}x" if r["naive"] else "–",
                      f"{r['margin_above']:.2f}x above / {below} below",
                      f"[{style[r['status']]}]{r['status']}[/]")
    console.print(table)
    failing = [r for r in rows if r["status"] == "fails"]
    console.print(f"written to {args.root / calibration.FILE} (fingerprint {data['fingerprint_id']}); "
                  f"margins under {calibration.MIN_MARGIN:g}x are 'thin', see docs/MARGINS.md")
    if failing:
        console.print(f"[bold red]{len(failing)} threshold(s) do not fit this machine[/]: move them "
                      "(the tiers of the test cell in source/), make release, calibrate again")
    return 1 if failing else 0


def calibration_setting(root: Path) -> str:
    """TrustedGrade.calibration as nbgrader_config.py sets it (default "warn")."""
    return course.setting(root, "TrustedGrade", "calibration", "warn")


def sandbox_mode(root: Path) -> str:
    """Sandbox.mode as nbgrader_config.py sets it (default "auto")."""
    return course.setting(root, "Sandbox", "mode", "auto")


def cmd_grade(args) -> int:
    """Autograde every submission in submitted/ on grading lanes (Dask workers that grade one
    submission at a time: a LocalCluster of `--lanes` on this machine's CPUs, or the workers
    of `--scheduler`), then write feedback and grades.csv; nbgrader's log of each submission
    goes to logs/, its status to logs/batch.json (a restart grades only what is missing,
    changed or not graded). Exits 1 when any submission was not graded."""
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)
    from rich.table import Table

    from accelkit import batch
    from accelkit.grading import calibration

    console = Console()
    setting, problem = calibration_setting(args.root), calibration.check(args.root)
    if problem and setting == "required":
        console.print(f"[bold red]not grading[/]: {problem} (TrustedGrade.calibration = 'required')")
        return 2
    if problem and setting != "off":
        console.print(f"[bold yellow]warning[/]: {problem}")
    students = sorted(p.name for p in (args.root / "submitted").iterdir()
                      if (p / course.ASSIGNMENT).is_dir())
    scheduler = args.scheduler or course.setting(args.root, "AccelkitGrade", "scheduler", None)
    lanes = args.lanes or int(course.setting(args.root, "AccelkitGrade", "lanes", 1))
    db_url = _db_url(args.root)
    try:
        cpu_sets = course.lane_cpus(lanes) if lanes > 1 and not scheduler else [None]
    except ValueError as err:
        console.print(f"[bold red]not grading[/]: {err}")
        return 2
    if scheduler and db_url.startswith("sqlite:"):
        console.print(f"[bold red]not grading[/]: the workers of {scheduler} grade into the "
                      "course's gradebook, which is a SQLite file here; point "
                      "c.CourseDirectory.db_url at a server they all reach (PostgreSQL, see "
                      "the README's \"Grading a large course\")")
        return 2
    course.register_students(db_url, students)  # before any grader starts
    if len(cpu_sets) > 1:
        course.share_sqlite(db_url)
    unconfined = ("--Sandbox.mode=off",) if args.unconfined else ()
    if not unconfined and not sandbox.available() and sandbox_mode(args.root) != "off":
        console.print("[bold red]" + sandbox.REFUSAL.format(user=getpass.getuser()) + "[/]")
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn()]
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("autograding", total=len(students))

        def on_result(outcome) -> None:
            progress.console.print(f"{outcome.status:>12}  {outcome.student}  "
                                   f"{outcome.lane}  {outcome.seconds:.0f} s")
            progress.advance(task)

        def on_running(now: dict) -> None:
            progress.update(task, description="autograding " + (" · ".join(
                f"{lane}: {student}" for lane, student in now.items()) or "..."))

        try:
            outcomes, statuses = batch.grade(args.root, students, db_url, lanes=lanes, cpu_sets=cpu_sets,
                                   scheduler=scheduler, force=args.force,
                                   timeout_s=args.timeout, extra_args=unconfined,
                                   report=progress.console.print, on_result=on_result,
                                   on_running=on_running)
        except (OSError, RuntimeError) as err:
            console.print(f"[bold red]not grading[/]: {err}")
            return 2
        progress.update(task, completed=len(students))
    if len(cpu_sets) > 1:
        for number, cpus in enumerate(cpu_sets):
            lane = f"lane {number + 1} (CPU {', '.join(map(str, sorted(cpus)))})"
            times = [o.seconds for o in outcomes.values() if o.lane == lane]
            console.print(f"{lane}: {len(times)} submissions in {sum(times):.0f} s")
    ended = {s: statuses[s]["status"] for s in students}
    graded = sum(1 for status in ended.values() if status == batch.GRADED)
    summary = Table(title=f"{len(students)} submissions, {len(outcomes)} graded in this run")
    for column in ("status", "submissions", "students"):
        summary.add_column(column)
    for status in (batch.GRADED, batch.NOT_MEASURED, batch.FAILED, batch.TIMED_OUT):
        who = [s for s, st in ended.items() if st == status]
        if who:
            summary.add_row(status, str(len(who)), ", ".join(who[:6]) + (", ..." if len(who) > 6 else ""))
    console.print(summary)
    console.print(f"graded {graded} of {len(students)} submissions")
    failed = {}
    for step in (("generate_feedback", course.ASSIGNMENT, "--force"), ("export",)):
        proc = course.run_nbgrader(args.root, *step)
        if proc.returncode != 0:
            failed[f"nbgrader {step[0]}"] = proc.stderr[-500:]
    console.print("feedback in feedback/, grades in grades.csv, statuses in "
                  f"{batch.STATUS_FILE}")
    for student, status in ended.items():
        reason = statuses[student].get("reason", "")
        if status in (batch.FAILED, batch.TIMED_OUT):
            console.print(f"[red]{status.upper()}[/red] {student}:\n{reason}")
        elif status == batch.NOT_MEASURED:
            console.print(f"[yellow]NOT MEASURED[/yellow] {student} (regrade on a quiet "
                          f"machine): {reason}")
    for who, why in failed.items():
        console.print(f"[red]FAILED[/red] {who}:\n{why}")
    return 1 if failed or graded < len(students) else 0


def cmd_validate(args) -> int:
    """Run nbgrader's validator on every instructor notebook: all tests must pass, and every
    other cell (the teaching demos a student runs too) must run without an error."""
    bad = []
    for nb_path in sorted((args.root / "source" / course.ASSIGNMENT).glob("*.ipynb")):
        proc = course.run_nbgrader(args.root, "validate", str(nb_path),
                                   "--Validator.validate_all=True")
        ok = proc.returncode == 0 and "Success!" in proc.stdout
        print(f"{'ok    ' if ok else 'FAILED'} {nb_path.name}")
        if not ok:
            bad.append(nb_path.name)
            print(proc.stdout[-3000:])
    return 1 if bad else 0


def cmd_bench(args) -> int:
    from accelkit import bench
    return bench.main(args.root, args.sizes, quick=args.quick)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="accelkit", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="course directory")
    sub = parser.add_subparsers(dest="command", required=True)
    examples = sub.add_parser("examples", help="place example submissions in submitted/")
    examples.add_argument("--all", action="store_true",
                          help="all of them, not only the demo's (the hostile ones are slow)")
    sub.add_parser("scores", help="print the per-student, per-function score table")
    grade = sub.add_parser("grade", help="autograde all of submitted/ with progress, feedback, "
                           "grades.csv")
    grade.add_argument("--lanes", type=int, default=0, help=(
        "grade N submissions side by side, each on its own share of the CPUs (default: "
        "c.AccelkitGrade.lanes of nbgrader_config.py, else 1)"))
    grade.add_argument("--scheduler", help=(
        "grade on the workers of this Dask scheduler (tcp://HOST:8786, or a scheduler file "
        "*.json); each worker is a grading lane started with `--nthreads 1 --resources lane=1` "
        "(default: c.AccelkitGrade.scheduler, else a local cluster of --lanes)"))
    grade.add_argument("--force", action="store_true", help=(
        "grade every submission again, not only those missing, changed or not graded"))
    grade.add_argument("--timeout", type=float, help=(
        "seconds one submission may take before it is stopped and reported 'timed out' "
        "(default: c.AccelkitGrade.submission_timeout, else the grading budgets' worst case)"))
    grade.add_argument("--unconfined", action="store_true", help=(
        "grade without the sandbox (--Sandbox.mode=off): only for code you trust, such as the "
        "course's example submissions where no sandbox is available"))
    sub.add_parser("validate", help="the instructor solutions must pass all their tests")
    sub.add_parser("margins", help="measured speedups of the graded examples vs thresholds")
    calibrate = sub.add_parser("calibrate", help="measure every speed threshold's margins here")
    calibrate.add_argument("--notebooks", nargs="+", help="only these (e.g. 04_alignment)")
    calibrate.add_argument("--keep", type=Path, help="grade in this folder and keep it")
    bench = sub.add_parser("bench", help="GFLOP/s of the reference kernels against numpy")
    bench.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024, 2048])
    bench.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args(argv)
    args.root = args.root.resolve()
    handler = {"examples": cmd_examples, "scores": cmd_scores, "margins": cmd_margins,
               "grade": cmd_grade, "validate": cmd_validate, "bench": cmd_bench,
               "calibrate": cmd_calibrate}[args.command]
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
