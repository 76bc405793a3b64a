"""clusopt-run on folders and lists of images: batching by --batch, the
order of results, --dump-logits and --json for every image, progress on a
terminal, and the errors of folder and list input."""

import json
import os
import pathlib
import pty
import subprocess

import numpy as np
import pytest
from PIL import Image

from test_clusopt_run import expect_error, run, tiny  # noqa: F401


def make_images(folder, count=10, seed=1):
    """`count` random photos-to-be of different sizes, PNG and JPEG (the
    extension's case varies), written in an order unlike their names'."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = []
    for i in range(count):
        ext = [".png", ".jpg", ".JPEG", ".jpeg", ".PNG"][i % 5]
        names.append(f"img{(7 * i) % count:02d}{ext}")
    for name in names:
        h, w = rng.integers(40, 160, size=2)
        pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        fmt = "PNG" if name.lower().endswith(".png") else "JPEG"
        Image.fromarray(pixels).save(folder / name, format=fmt)
    return sorted(folder / n for n in names)


COMMON = ["--resolution", 64, "--threads", 2, "--topk", 3]


def one_by_one(weights, images, tmp_path):
    rows = []
    for i, image in enumerate(images):
        run("--weights", weights, "--image", image, *COMMON, "--runs", 1,
            "--dump-logits", tmp_path / f"one{i}.npy")
        rows.append(np.load(tmp_path / f"one{i}.npy")[0])
    return np.stack(rows)


def test_folder_in_batches_equals_one_by_one(tiny, tmp_path):  # noqa: F811
    """10 mixed images at --batch 4 (batches of 4, 4 and 2): the logits
    are bitwise those of running each image alone. Every layer and kernel
    computes an image's rows the same way whatever the batch (the GEMMs'
    reductions run over channels, never across images), so nothing but
    the batch size changes, and equality is exact."""
    _, _, weights = tiny
    images = make_images(tmp_path / "photos")
    out = run("--weights", weights, "--image", tmp_path / "photos",
              "--batch", 4, *COMMON, "--dump-logits", tmp_path / "all.npy")
    got = np.load(tmp_path / "all.npy")
    assert got.shape == (10, 1000) and got.dtype == np.float32
    want = one_by_one(weights, images, tmp_path)
    np.testing.assert_array_equal(got, want)
    assert "10 images in 3 batches of up to 4 (64x64)" in out.stdout
    # Each image's report names it, in sorted order.
    headings = [l for l in out.stdout.splitlines() if l.startswith("image ")]
    assert headings == [
        f"image {i} top-3 (class, probability, logit, name): {p}"
        for i, p in enumerate(images)]
    assert "throughput: 10 images in" in out.stdout
    assert "over 3 batches" in out.stdout
    # Not a terminal: no progress.
    assert "images" not in out.stderr


def test_lists_keep_their_order_and_json_names_paths(tiny, tmp_path):  # noqa: F811
    _, _, weights = tiny
    images = make_images(tmp_path / "photos", count=5, seed=2)
    reordered = images[::-1]
    run("--weights", weights, *reordered, "--batch", 2, *COMMON,
        "--dump-logits", tmp_path / "args.npy")
    listing = tmp_path / "list.txt"
    listing.write_text("# photos, newest first\n\n" +
                       "\n".join(map(str, reordered)) + "\n")
    out = run("--weights", weights, "--image-list", listing, "--batch", 3,
              *COMMON, "--json", "--dump-logits", tmp_path / "list.npy")
    by_args, by_list = (np.load(tmp_path / f"{n}.npy")
                        for n in ("args", "list"))
    want = one_by_one(weights, reordered, tmp_path)
    np.testing.assert_array_equal(by_args, want)
    np.testing.assert_array_equal(by_list, want)
    objects = [json.loads(l) for l in out.stdout.splitlines()]
    assert [o["image"] for o in objects] == list(range(5))
    assert [o["source"] for o in objects] == list(map(str, reordered))
    for o, logits in zip(objects, want):
        assert o["top"][0]["class"] == int(np.argmax(logits))
        assert o["top"][0]["logit"] == pytest.approx(float(logits.max()))
        assert len(o["top"]) == 3 and "label" in o["top"][0]
        assert o["latency_ms"] > 0


def test_folder_skips_other_files_with_a_note(tiny, tmp_path):  # noqa: F811
    _, _, weights = tiny
    images = make_images(tmp_path / "photos", count=2)
    (tmp_path / "photos" / "README.txt").write_text("holiday photos")
    (tmp_path / "photos" / ".DS_Store").write_bytes(b"\0")
    out = run("--weights", weights, "--image", tmp_path / "photos", *COMMON)
    assert (f"note: {tmp_path / 'photos'}: skipped 2 files that are not "
            ".png, .jpg or .jpeg images: '.DS_Store', 'README.txt'"
            in out.stderr)
    assert f"image 1 top-3 (class, probability, logit, name): {images[1]}" \
        in out.stdout


def test_folder_and_list_errors(tiny, tmp_path):  # noqa: F811
    _, _, weights = tiny
    empty = tmp_path / "empty"
    empty.mkdir()
    expect_error(["--weights", weights, "--image", empty],
                 f"{empty}: no images in the folder (.png, .jpg or .jpeg "
                 "files)")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("x")
    expect_error(["--weights", weights, "--image", tmp_path / "docs"],
                 "no images in the folder (.png, .jpg or .jpeg files), only "
                 "1 other file")
    nested = tmp_path / "nested"
    make_images(nested, count=2)
    (nested / "cats").mkdir()
    expect_error(["--weights", weights, "--image", nested],
                 f"{nested}: holds a subfolder, 'cats'; folders are not "
                 "searched recursively")
    # A broken image stops the run before anything is printed or written.
    broken = tmp_path / "broken"
    images = make_images(broken, count=6)
    images[4].write_bytes(images[4].read_bytes()[:60])
    out = run("--weights", weights, "--image", broken, "--batch", 2,
              *COMMON, "--dump-logits", tmp_path / "l.npy", check=False)
    assert out.returncode == 1 and out.stdout == ""
    assert f"clusopt-run: error: {images[4]}: " in out.stderr
    assert not (tmp_path / "l.npy").exists()
    # Lists.
    expect_error(["--weights", weights, tmp_path / "missing.png"],
                 f"{tmp_path / 'missing.png'}")
    (tmp_path / "x.npy").write_bytes(b"")
    expect_error(["--weights", weights, images[0], tmp_path / "x.npy"],
                 "x.npy: a .npy or .bin input holds its own batch; give it "
                 "alone, with --image")
    (tmp_path / "list.txt").write_text("# nothing\n\n")
    expect_error(["--weights", weights, "--image-list",
                  tmp_path / "list.txt"],
                 "list.txt: names no images (one path per line)")
    expect_error(["--weights", weights, "--image", nested, images[0]],
                 "give exactly one input: --image PATH, images as "
                 "arguments, --image-list FILE or --random (2 given)")
    for flag, value in [("--runs", 2), ("--profile", None)]:
        args = [flag] if value is None else [flag, value]
        expect_error(["--weights", weights, images[0], images[1], *args],
                     f"{flag} needs a single input (an image, .npy, .bin or "
                     "--random), not a folder or list")


def run_on_a_terminal(args):
    """clusopt-run with stderr on a pseudo-terminal: (exit code, stderr)."""
    from test_clusopt_run import tool
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run([tool(), *map(str, args)],
                              stdout=subprocess.PIPE, stderr=follower,
                              timeout=120)
        os.close(follower)
        follower = None
        err = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not chunk:
                break
            err += chunk
    finally:
        if follower is not None:
            os.close(follower)
        os.close(leader)
    return proc.returncode, err.decode()


def test_progress_on_a_terminal(tiny, tmp_path):  # noqa: F811
    """On a terminal, stderr shows "k/N images", rewritten in place, and
    the line is cleared at the end, and before an error."""
    _, _, weights = tiny
    images = make_images(tmp_path / "photos", count=3)
    code, text = run_on_a_terminal(["--weights", weights, "--image",
                                    tmp_path / "photos", "--batch", 2,
                                    *COMMON])
    assert code == 0
    assert "\rclusopt-run: 0/3 images" in text
    assert "\rclusopt-run: 2/3 images" in text
    assert "\rclusopt-run: 3/3 images" in text
    assert text.endswith("\r\x1b[K")
    images[2].write_bytes(b"\x89PNG")
    code, text = run_on_a_terminal(["--weights", weights, "--image",
                                    tmp_path / "photos", "--batch", 2,
                                    *COMMON])
    assert code == 1
    assert text.endswith(f"\rclusopt-run: 2/3 images\r\x1b[Kclusopt-run: "
                         f"error: {images[2]}: not a PNG or JPEG image (no "
                         f"PNG or JPEG signature)\r\n")
