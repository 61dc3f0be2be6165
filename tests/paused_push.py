"""`python -m tests.paused_push copying|published CLI-ARGS...`: runs `tfxpipe CLI-ARGS` with the
model push paused at one point, so a test can SIGKILL the run exactly there (the crash matrix):

- `copying`: two of the model's files are in the push's staging folder, the rest not yet;
- `published`: the version folder is in place, but TFX has not recorded the push in MLMD.

It prints PAUSED (stdout, flushed) when it gets there, then sleeps; nothing else is changed.
"""
import functools
import shutil
import sys
import time

from serving import model_dir

MARKER = "PAUSED"


def _pause() -> None:
    print(MARKER, flush=True)
    time.sleep(3600)


def pause_while_copying() -> None:
    copied = []

    def copy_then_pause(src, dst, **kwargs):
        shutil.copy2(src, dst, **kwargs)
        copied.append(dst)
        if len(copied) == 2:
            _pause()

    class ShutilForPushes:
        """What serving/model_dir.py sees as `shutil`: copies files one by one, then pauses."""

        def __getattr__(self, name):
            return getattr(shutil, name)

        @staticmethod
        def copytree(src, dst, **kwargs):
            return shutil.copytree(src, dst, copy_function=copy_then_pause, **kwargs)

    model_dir.shutil = ShutilForPushes()


def pause_once_published() -> None:
    real_publish = model_dir.publish

    @functools.wraps(real_publish)
    def publish(*args, **kwargs):
        target = real_publish(*args, **kwargs)
        _pause()
        return target

    model_dir.publish = publish


if __name__ == "__main__":
    {"copying": pause_while_copying, "published": pause_once_published}[sys.argv[1]]()
    from cli import main  # pylint: disable=import-outside-toplevel  (after the patch)

    sys.exit(main.main(sys.argv[2:]))
