"""phisafe against Microsoft Presidio on the same log lines (BENCHMARKS.md,
issue 6). Needs an environment with both installed:

    python3 -m venv /tmp/presidio-venv && /tmp/presidio-venv/bin/pip install presidio-analyzer
    target/py-venv/bin/maturin build --release -m python/Cargo.toml -o /tmp/wheels
    /tmp/presidio-venv/bin/pip install /tmp/wheels/phisafe-*.whl
    /tmp/presidio-venv/bin/python python/bench/bench_presidio.py

Presidio runs its default recognizers with a blank spaCy English pipeline
(no statistical model is downloadable here, so no NER: its PERSON and
LOCATION findings are off; its regex and checksum recognizers run). The
public-suffix list its e-mail recognizer fetches is replaced by the
snapshot bundled with tldextract (no network).
"""

import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])

import spacy  # noqa: E402
import tldextract  # noqa: E402
import tldextract.tldextract  # noqa: E402

tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=())

from bench import log_lines  # noqa: E402
from presidio_analyzer import AnalyzerEngine  # noqa: E402
from presidio_analyzer.nlp_engine import NlpEngineProvider  # noqa: E402

import phisafe  # noqa: E402


def main():
    lines = log_lines(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
    mb = sum(len(x) for x in lines) / 1e6
    spacy.blank("en").to_disk("/tmp/phisafe-blank-en")
    conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": "/tmp/phisafe-blank-en"}]}
    analyzer = AnalyzerEngine(nlp_engine=NlpEngineProvider(nlp_configuration=conf).create_engine(),
                              supported_languages=["en"])
    analyzer.analyze(lines[0], language="en")  # warm up

    t = time.perf_counter()
    presidio_hits = sum(len(analyzer.analyze(x, language="en")) for x in lines)
    presidio = time.perf_counter() - t

    scanner = phisafe.Scanner()
    t = time.perf_counter()
    phisafe_hits = sum(len(scanner.scan(x)) for x in lines)
    single = time.perf_counter() - t
    t = time.perf_counter()
    scanner.scan_many(lines)
    batch = time.perf_counter() - t

    n = len(lines)
    print(f"{n} lines, {mb:.2f} MB")
    print(f"presidio analyze, one line a call: {n / presidio:>10.0f} lines/s {mb / presidio:8.3f} MB/s ({presidio_hits} findings)")
    print(f"phisafe scan, one line a call:     {n / single:>10.0f} lines/s {mb / single:8.3f} MB/s ({phisafe_hits} findings)")
    print(f"phisafe scan_many:                 {n / batch:>10.0f} lines/s {mb / batch:8.3f} MB/s")
    print(f"phisafe scan / presidio: {presidio / single:.0f}x; scan_many / presidio: {presidio / batch:.0f}x")


if __name__ == "__main__":
    main()
