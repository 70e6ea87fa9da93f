"""Start an IPython kernel under resource limits (runs inside the sandbox, before student code).

    python -m autograder.in_kernel.boot --memory-mb 1536 --max-processes 64 --cpu-seconds 300 \\
        --file-mb 64 -- -f /path/to/kernel.json

The limits are POSIX resource limits (setrlimit): address space (memory), processes and threads
(enforced for non-root users; the grader adds a pids cgroup when it runs as root), CPU seconds
for the whole notebook, size of any file written, and no core dumps.
"""

from __future__ import annotations

import argparse
import resource
import sys

MB = 1024 * 1024


def apply_limits(memory_mb: int, max_processes: int, cpu_seconds: int, file_mb: int) -> None:
    """Lower this process's resource limits (children inherit them)."""
    limits = {
        resource.RLIMIT_AS: memory_mb * MB,
        resource.RLIMIT_NPROC: max_processes,
        resource.RLIMIT_CPU: cpu_seconds,
        resource.RLIMIT_FSIZE: file_mb * MB,
        resource.RLIMIT_CORE: 0,
    }
    for kind, value in limits.items():
        _, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(kind, (value, value))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--max-processes", type=int, required=True)
    parser.add_argument("--cpu-seconds", type=int, required=True)
    parser.add_argument("--file-mb", type=int, required=True)
    parser.add_argument("kernel_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    apply_limits(args.memory_mb, args.max_processes, args.cpu_seconds, args.file_mb)
    from ipykernel.kernelapp import launch_new_instance

    kernel_args = [a for a in args.kernel_args if a != "--"]
    sys.argv = [sys.argv[0], *kernel_args]
    launch_new_instance(argv=kernel_args)


if __name__ == "__main__":
    main()
