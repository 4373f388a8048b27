import os

# One OpenBLAS thread per process, before anything imports NumPy: gunicorn and Celery run one
# process per core, and the face ResNet's matrix products (biometrics/engine/resnet.py) would
# otherwise start a thread per core in each of them, which spin against each other under load.
# OpenCV's own pool likewise (resize, blur, decode of each streamed frame): with two threads a
# clock-in's engine work cost 113 ms of CPU instead of 95 on an idle machine, and more when the
# cores are busy. Set OPENBLAS_NUM_THREADS / OPENCV_FOR_THREADS_NUM in the environment to override.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OPENCV_FOR_THREADS_NUM", "1")

# Load the Celery app with Django so @shared_task binds to it.
from .celery import app as celery_app  # noqa: E402

__all__ = ("celery_app",)
