"""The embedded store's segment files: one commit's (or one merge's) vectors, filter arrays and
BM25 postings, written once, fsynced and renamed into place, never changed after.

    segments/seg-000007.faiss    the vectors: exact (flat) while small, IVF-SQ8 past ``QA_ANN_MIN``
                                 vectors (qa/stores/ann.py)
    segments/seg-000007.vec.npy  an IVF-SQ8 segment's float32 vectors (its exact re-rank), read by row
    segments/seg-000007.npz      their chunk ids, publication days and source codes (filters)
    segments/seg-000007.lex/     their BM25 postings, memory-mapped (qa/lexical.py)

Which segments are live, and when they are merged or purged, is the store's business
(qa/stores/embedded.py): this module only writes, reads and removes the files.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from ..errors import IndexError_
from ..lexical import LexicalSegment, load_npy
from . import ann

SEGMENTS = "segments"
EXTENSIONS = ("faiss", "npz", "vec.npy")  # and the .lex folder


@dataclass
class Segment:
    no: int
    kind: str  # "flat", "ivf-sq8" or (earlier releases) "ivf": see qa/stores/ann.py
    index: faiss.Index
    ids: np.ndarray  # chunk ids, int64
    nprobe: int = 0
    lex: LexicalSegment | None = None
    vectors: ann.VectorFile | None = None  # ivf-sq8: float32 rows aligned with ``ids``, read on demand


@dataclass(frozen=True)
class WrittenSegment:
    kind: str
    nprobe: int
    recall: float | None


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def segment_base(directory: Path, no: int) -> Path:
    """``segments/seg-000007``: its files add .faiss, .npz, .lex (and .vec.npy for ivf-sq8)."""
    return directory / SEGMENTS / f"seg-{no:06d}"


def file_numbers(directory: Path) -> list[int]:
    """Numbers of the segment files present (registered or not)."""
    return [int(p.name[4:10]) for p in (directory / SEGMENTS).glob("seg-*") if p.name[4:10].isdigit()]


def write_files(directory: Path, no: int, vecs: np.ndarray, ids: np.ndarray, days: np.ndarray,
                srcs: np.ndarray, lex: LexicalSegment) -> WrittenSegment:
    """Write segment ``no``'s files: each fsynced under a temporary name, then renamed into place
    (the .faiss last), then the folder fsynced. Registering it is the caller's commit."""
    segdir = directory / SEGMENTS
    if not segdir.exists():
        segdir.mkdir()
        fsync_dir(directory)  # the new folder's entry is durable before anything in it
    built = ann.build(vecs, ids)
    base = segment_base(directory, no)
    meta = segdir / f".seg-{no:06d}.tmp-{os.getpid()}.npz"
    with open(meta, "wb") as f:
        np.savez(f, ids=ids, days=days, sources=srcs)
        f.flush()
        os.fsync(f.fileno())
    tmp = segdir / f".seg-{no:06d}.tmp-{os.getpid()}.faiss"
    faiss.write_index(built.index, str(tmp))  # straight to the file: no second copy of the vectors in memory
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    vec_tmp = segdir / f".seg-{no:06d}.tmp-{os.getpid()}.vec.npy"
    if built.kind == "ivf-sq8":  # the exact re-rank's vectors
        with open(vec_tmp, "wb") as f:
            np.save(f, np.ascontiguousarray(vecs, dtype=np.float32))
            f.flush()
            os.fsync(f.fileno())
    written = WrittenSegment(built.kind, built.nprobe, built.recall)
    del built
    lex_tmp = segdir / f".seg-{no:06d}.tmp-{os.getpid()}.lex"
    lex.save(lex_tmp)
    fsync_dir(lex_tmp)
    os.replace(lex_tmp, f"{base}.lex")
    os.replace(meta, f"{base}.npz")
    if written.kind == "ivf-sq8":
        os.replace(vec_tmp, f"{base}.vec.npy")
    os.replace(tmp, f"{base}.faiss")
    fsync_dir(segdir)
    return written


def load(directory: Path, no: int, kind: str, nprobe: int) -> tuple[Segment, dict]:
    """Open segment ``no`` for searching (flat vectors memory-mapped); also returns its filter
    arrays (``days``, ``sources``). FileNotFoundError when a writer purged it meanwhile."""
    base = segment_base(directory, no)
    try:
        meta = load_npy(f"{base}.npz")
        flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if kind == "flat" else 0
        index = faiss.read_index(f"{base}.faiss", flags)
        lex = LexicalSegment.load(Path(f"{base}.lex"))
        vectors = ann.VectorFile(f"{base}.vec.npy") if kind == "ivf-sq8" else None
    except FileNotFoundError:
        raise
    except (OSError, ValueError, RuntimeError) as e:
        raise IndexError_(f"{base}: index segment is damaged ({e.__class__.__name__}: {e}). "
                          f"Delete {directory} and run `qa ingest` again.") from e
    ids = meta["ids"].astype(np.int64)
    if index.ntotal != len(ids) or (vectors is not None and vectors.shape != (len(ids), index.d)):
        raise IndexError_(f"{base}: {index.ntotal} vectors for {len(ids)} ids; the index is damaged. "
                          f"Delete {directory} and run `qa ingest` again.")
    return Segment(no, kind, index, ids, nprobe, lex, vectors), meta


def read_ids(directory: Path, no: int) -> np.ndarray:
    """Chunk ids of segment ``no``."""
    return load_npy(f"{segment_base(directory, no)}.npz")["ids"].astype(np.int64)


def read_for_merge(directory: Path, no: int, kind: str, ids: np.ndarray, keep: np.ndarray) -> tuple:
    """The kept rows of segment ``no``: (vectors, ids, days, sources, (lexical segment, keep))."""
    base = segment_base(directory, no)
    meta = load_npy(f"{base}.npz")
    vectors = ann.VectorFile(f"{base}.vec.npy") if kind == "ivf-sq8" else None
    seg = Segment(no, kind, faiss.read_index(f"{base}.faiss"), ids, vectors=vectors)
    return (reconstruct(seg, ids[keep]), ids[keep], meta["days"][keep], meta["sources"][keep],
            (LexicalSegment.load(Path(f"{base}.lex")), keep))


def remove_files(directory: Path, no: int, on_file=None) -> None:
    """Delete segment ``no``'s files (``on_file`` is called after each, for the kill tests)."""
    base = segment_base(directory, no)
    for ext in EXTENSIONS:
        Path(f"{base}.{ext}").unlink(missing_ok=True)
        if on_file:
            on_file()
    shutil.rmtree(f"{base}.lex", ignore_errors=True)


def remove_orphans(directory: Path, known: set[int]) -> None:
    """Remove segment files no commit registered, and temporaries (a writer was killed)."""
    segdir = directory / SEGMENTS
    if not segdir.exists():
        return
    for p in segdir.iterdir():
        if p.name.startswith(".seg-") or (p.name.startswith("seg-") and int(p.name[4:10]) not in known):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)


def all_vectors(index: faiss.Index, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Every (id, vector) of a segment's index, read in bulk (flat storage or IVF inverted lists)."""
    d = index.d
    if kind == "ivf":
        ivf = faiss.extract_index_ivf(index)
        lists = ivf.invlists
        ids, vecs = [], []
        for i in range(ivf.nlist):
            size = lists.list_size(i)
            if size:
                ids.append(faiss.rev_swig_ptr(lists.get_ids(i), size).copy())
                vecs.append(faiss.rev_swig_ptr(lists.get_codes(i), size * d * 4).view(np.float32).reshape(size, d).copy())
        if not ids:
            return np.zeros(0, np.int64), np.zeros((0, d), np.float32)
        return np.concatenate(ids).astype(np.int64), np.concatenate(vecs)
    ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    return ids, faiss.downcast_index(index.index).reconstruct_n(0, index.ntotal)


def reconstruct(seg: Segment, ids: np.ndarray) -> np.ndarray:
    """Vectors of ``ids`` (all in this segment), in that order."""
    if not len(ids):
        return np.zeros((0, seg.index.d), np.float32)
    if seg.vectors is not None:
        order = np.argsort(seg.ids)
        return np.asarray(seg.vectors[order[np.searchsorted(seg.ids, ids, sorter=order)]], dtype=np.float32)
    all_ids, vecs = all_vectors(seg.index, seg.kind)
    order = np.argsort(all_ids)
    return vecs[order[np.searchsorted(all_ids, ids, sorter=order)]].astype(np.float32)

