"""Per front-end fixture: the batch norms raised (and of those, with their
backward), the chains the rewrite then fused, and the bytes saved for the
backward in the raised graph before and after the rewrite (the memory
report; the graph as the front-end wrote it has no iabn ops for the report
to see). Usage: raise_report.py DIR (IABN_OPT from the environment)."""

import os
import re
import subprocess
import sys


def run(args):
    return subprocess.run(args, capture_output=True, text=True)


def saved(text):
    m = re.search(r"saved for backward: (?:(\d+) tensors?, (\d+) B|none)",
                  text)
    return int(m.group(2)) if m and m.group(2) else 0


def main():
    tool = os.environ["IABN_OPT"]
    root = sys.argv[1]
    for front in sorted(os.listdir(root)):
        for name in sorted(os.listdir(os.path.join(root, front))):
            path = os.path.join(root, front, name)
            after = run([tool, path, "--iabn-pipeline=raise=true",
                         "--iabn-memory-report", "-o", os.devnull])
            before = run([tool, path, "--canonicalize", "--cse",
                          "--iabn-raise-batch-norm", "--canonicalize",
                          "--iabn-memory-report", "-o", os.devnull])
            raised = after.stderr.count("remark: raised a training batch norm")
            backward = after.stderr.count("with its backward")
            fused = len(re.findall(r"remark: (inplace|store-y):",
                                   after.stderr))
            b0, b1 = saved(before.stdout + before.stderr), \
                saved(after.stdout + after.stderr)
            status = "ok" if after.returncode == 0 else "FAIL"
            print(f"{front}/{name[:-5]}: raised {raised} ({backward} with "
                  f"backward), fused {fused}, saved {b0} -> {b1} B {status}")


if __name__ == "__main__":
    main()
