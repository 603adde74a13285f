"""phisafe.spark on a Spark standalone cluster (a master and two workers on
127.0.0.1) whose executors' Python does not have phisafe, as on a real
cluster: the job without it fails with the message that says how to ship
it, and the job that ships a packed virtualenv (``spark.archives``, the
README's recipe) gives the findings of one process.

The packed environment holds the wheel under test: the test command
passes its path in ``PHISAFE_WHEEL``."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

pyspark = pytest.importorskip("pyspark")

WHEEL = os.environ.get("PHISAFE_WHEEL")
pytestmark = pytest.mark.skipif(
    not WHEEL, reason="PHISAFE_WHEEL (the wheel to ship) is not set"
)

JOB = textwrap.dedent(
    """
    import json, sys
    from pyspark.sql import SparkSession
    from phisafe import Scanner
    from phisafe.spark import scan_dataframe

    master, archive = sys.argv[1], sys.argv[2]
    b = (SparkSession.builder.master(master).appName("phisafe-cluster")
         .config("spark.ui.enabled", "false")
         .config("spark.executor.memory", "512m")
         .config("spark.task.maxFailures", "1"))
    if archive:
        b = b.config("spark.archives", archive + "#env")
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    notes = [f"Pt {n} seen, SSN 219-09-{i + 1:04d}, call 617-871-{i + 1:04d}"
             for i, n in enumerate(["Maria Lopez", "Jon Okafor"] * 200)]
    df = spark.createDataFrame(list(enumerate(notes)), "id long, note string")
    df = df.repartition(4)
    try:
        got = sorted((r.row_key, r.entity, r.start, r.end)
                     for r in scan_dataframe(df, ["note"], key="id").collect())
    except Exception as e:
        print(json.dumps({"error": str(e)}))
        sys.exit(0)
    # Where the executors' phisafe came from.
    def where(_):
        import phisafe
        yield phisafe.__file__
    homes = sorted(set(spark.sparkContext.parallelize(range(4), 4)
                       .mapPartitions(where).collect()))
    want = sorted((str(i), f.entity, f.start, f.end)
                  for i, found in enumerate(Scanner().scan_many(notes))
                  for f in found)
    print(json.dumps({"same": got == want, "findings": len(got),
                      "homes": homes}))
    spark.stop()
    """
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, what, timeout=120.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("spark-cluster")
    home = Path(pyspark.__file__).parent
    spark_class = str(home / "bin" / "spark-class")
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"}
    env.pop("PYSPARK_PYTHON", None)
    port, ui = free_port(), free_port()
    procs = []

    def start(name, *args):
        log = open(tmp / f"{name}.log", "wb")
        procs.append(subprocess.Popen(
            [spark_class, *args], env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        ))

    start("master", "org.apache.spark.deploy.master.Master", "--host",
          "127.0.0.1", "--port", str(port), "--webui-port", str(ui))
    url = f"spark://127.0.0.1:{port}"
    try:
        wait_for(lambda: socket.create_connection(("127.0.0.1", port), 1).close()
                 or True, "the Spark master")
        for i in range(2):
            start(f"worker{i}", "org.apache.spark.deploy.worker.Worker", url,
                  "--host", "127.0.0.1", "--cores", "1", "--memory", "1g",
                  "--webui-port", "0", "--work-dir", str(tmp / f"work{i}"))

        def alive():
            with urllib.request.urlopen(f"http://127.0.0.1:{ui}/json", timeout=2) as r:
                return json.load(r).get("aliveworkers") == 2

        wait_for(alive, "two Spark workers")
        yield url, tmp
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def run_job(url, tmp, python, archive=""):
    job = tmp / "job.py"
    job.write_text(JOB)
    env = {k: v for k, v in os.environ.items() if k != "RAYON_NUM_THREADS"}
    # The executors' Python, as the PySpark packaging guide sets it.
    env["PYSPARK_PYTHON"] = python
    env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    out = subprocess.run(
        [sys.executable, str(job), url, archive], env=env, capture_output=True,
        text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def pip(python, *args):
    subprocess.run([python, "-m", "pip", "install", "-q",
                    "--disable-pip-version-check", *args], check=True)


def test_executors_without_phisafe_get_it_from_a_packed_virtualenv(cluster):
    url, tmp = cluster
    # The executors' own Python: Arrow and pandas, as a cluster image has
    # them, but no phisafe.
    env = tmp / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    python = str(env / "bin" / "python")
    pip(python, "pyarrow", "pandas")

    failed = run_job(url, tmp, python)
    assert "not installed in this Spark executor's Python" in failed.get("error", ""), failed
    assert "--archives env.tar.gz#env" in failed["error"]

    # The README's recipe: the wheel into the venv, packed, shipped with
    # the job; the executors run ./env/bin/python from the unpacked copy.
    pip(python, WHEEL)
    packed = tmp / "env.tar.gz"
    subprocess.run([sys.executable, "-m", "venv_pack", "--compress-level", "1", "-p", str(env), "-o",
                    str(packed), "-q"], check=True)
    shutil.rmtree(env)  # only the shipped copy is left
    done = run_job(url, tmp, "./env/bin/python", archive=str(packed))
    assert "error" not in done, done
    assert done["same"], done
    assert done["findings"] >= 1200  # a name, an SSN and a phone per note
    assert done["homes"] and all("/env/" in h and str(tmp / "work") in h
                                 for h in done["homes"]), done["homes"]
