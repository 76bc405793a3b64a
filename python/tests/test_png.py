"""PNG input (runtime/Image.cpp): PNGs written here with zlib + struct (gray,
gray+alpha, RGB, RGBA and palette, every filter type) are decoded,
resized and normalised by the runtime's decoder under ASan/UBSan
(clusopt-runtime-image-test) and compared with a NumPy implementation of the
same bilinear resize (align_corners=False) and ImageNet normalisation; then
the decoder's errors for broken files, a mutation smoke test, and
clusopt-run on a PNG against the same image as a .npy."""

import os
import pathlib
import struct
import subprocess
import zlib

import numpy as np
import pytest

from clusopt import export
from clusopt.models import paca
from clusopt.toolchain import build_dir

MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


# --- a small PNG writer ---------------------------------------------------

def chunk(kind, body, crc=None):
    if crc is None:
        crc = zlib.crc32(kind + body)
    return struct.pack(">I", len(body)) + kind + body + struct.pack(
        ">I", crc & 0xffffffff)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_rows(samples, bpp, filters):
    """samples: uint8 [H, W*C]; row y gets filters[y % len(filters)]."""
    out = bytearray()
    h, stride = samples.shape
    prev = np.zeros(stride, np.int64)
    for y in range(h):
        cur = samples[y].astype(np.int64)
        f = filters[y % len(filters)]
        left = np.concatenate([np.zeros(bpp, np.int64), cur[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, np.int64), prev[:-bpp]])
        if f == 0:
            pred = np.zeros(stride, np.int64)
        elif f == 1:
            pred = left
        elif f == 2:
            pred = prev
        elif f == 3:
            pred = (left + prev) // 2
        else:
            pred = np.array([paeth(a, b, c)
                             for a, b, c in zip(left, prev, upleft)],
                            np.int64)
        out.append(f)
        out += ((cur - pred) % 256).astype(np.uint8).tobytes()
        prev = cur
    return bytes(out)


def png_bytes(pixels, color_type, filters=(0, 1, 2, 3, 4), palette=None,
              idat_pieces=3, ihdr=None, raw=None, level=6):
    """pixels: uint8 [H, W, C] with C = CHANNELS[color_type]. `ihdr`
    overrides IHDR fields (a dict), `raw` the filtered scanlines."""
    h, w, c = pixels.shape
    assert c == CHANNELS[color_type]
    fields = dict(width=w, height=h, depth=8, color=color_type,
                  compression=0, filter=0, interlace=0)
    fields.update(ihdr or {})
    header = struct.pack(">IIBBBBB", *fields.values())
    if raw is None:
        raw = filter_rows(pixels.reshape(h, w * c), c, filters)
    data = zlib.compress(raw, level)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    out += chunk(b"tEXt", b"Comment\x00written by test_png.py")
    if palette is not None:
        out += chunk(b"PLTE", palette.astype(np.uint8).tobytes())
    step = max(1, -(-len(data) // idat_pieces))
    for i in range(0, len(data), step):
        out += chunk(b"IDAT", data[i:i + step])
    return out + chunk(b"IEND", b"")


def to_rgb(pixels, color_type, palette=None):
    if color_type in (0, 4):
        return np.repeat(pixels[..., :1], 3, axis=2)
    if color_type == 3:
        return palette[pixels[..., 0]]
    return pixels[..., :3]


# --- the NumPy reference ---------------------------------------------------

def taps(size_in, size_out):
    """PyTorch's upsample_bilinear2d source indices, align_corners=False."""
    src = np.maximum((np.arange(size_out) + 0.5) * (size_in / size_out) - 0.5,
                     0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), size_in - 1)
    i1 = np.minimum(i0 + 1, size_in - 1)
    return i0, i1, src - i0


def preprocess(rgb, resolution, batch=1):
    x = rgb.astype(np.float64) / 255.0
    y0, y1, wy = taps(x.shape[0], resolution)
    x0, x1, wx = taps(x.shape[1], resolution)
    wx = wx[None, :, None]

    def rows(ys):
        r = x[ys]
        return r[:, x0] * (1 - wx) + r[:, x1] * wx

    out = rows(y0) * (1 - wy)[:, None, None] + rows(y1) * wy[:, None, None]
    out = ((out - MEAN) / STD).transpose(2, 0, 1)[None]
    return np.broadcast_to(out, (batch, 3, resolution, resolution))


def test_reference_resize_is_pytorch_bilinear():
    # Hand-checked values: 2 -> 4 gives source x = -0.25 (clamped to 0),
    # 0.25, 0.75, 1.25 (past the last pixel: both taps are index 1).
    i0, i1, w = taps(2, 4)
    assert i0.tolist() == [0, 0, 0, 1] and i1.tolist() == [1, 1, 1, 1]
    assert np.allclose(w, [0.0, 0.25, 0.75, 0.25])  # both taps index 1
    # Downscaling 4 -> 2 samples at 0.5 and 2.5.
    i0, i1, w = taps(4, 2)
    assert i0.tolist() == [0, 2] and np.allclose(w, [0.5, 0.5])
    torch = pytest.importorskip("torch")
    img = np.random.default_rng(0).integers(0, 256, (13, 21, 3), np.uint8)
    t = torch.from_numpy(img.astype(np.float64) / 255).permute(2, 0, 1)[None]
    got = torch.nn.functional.interpolate(t, size=(32, 32), mode="bilinear",
                                          align_corners=False).numpy()
    want = preprocess(img, 32) * STD[:, None, None] + MEAN[:, None, None]
    assert np.abs(got - want).max() < 1e-12


# --- the driver --------------------------------------------------------------

def driver():
    path = pathlib.Path(build_dir()) / "bin" / "clusopt-runtime-image-test"
    if not path.exists():
        pytest.fail(f"{path} is missing; build clusopt first")
    return str(path)


def decode(tmp_path, data, resolution, batch=1, name="in.png"):
    (tmp_path / name).write_bytes(data)
    out = subprocess.run([driver(), str(tmp_path / name), str(resolution),
                          str(batch), str(tmp_path / "out.npy")],
                         capture_output=True, text=True, timeout=60)
    assert "Sanitizer" not in out.stderr and "runtime error" not in out.stderr
    return out


def decode_ok(tmp_path, data, resolution, batch=1):
    out = decode(tmp_path, data, resolution, batch)
    assert out.returncode == 0, out.stderr
    return np.load(tmp_path / "out.npy")


def random_image(color_type, h, w, seed):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (h, w, CHANNELS[color_type]), np.uint8)
    palette = None
    if color_type == 3:
        palette = rng.integers(0, 256, (200, 3), np.uint8)
        pixels %= 200
    return pixels, palette


@pytest.mark.parametrize("color_type", [0, 2, 3, 4, 6],
                         ids=["gray", "rgb", "palette", "gray_alpha", "rgba"])
@pytest.mark.parametrize("h,w,resolution", [(32, 32, 32), (23, 37, 32),
                                            (5, 7, 64), (70, 50, 64)])
def test_decode_matches_numpy(tmp_path, color_type, h, w, resolution):
    pixels, palette = random_image(color_type, h, w, seed=h * w + color_type)
    got = decode_ok(tmp_path, png_bytes(pixels, color_type, palette=palette),
                    resolution)
    want = preprocess(to_rgb(pixels, color_type, palette), resolution)
    assert got.dtype == np.float32 and got.shape == want.shape
    # One grey level is 1/255/0.229 ~ 0.017, so this also checks that the
    # decoded bytes are exact (the same-size case is resize-free).
    assert np.abs(got - want).max() <= 1e-5


@pytest.mark.parametrize("f", [0, 1, 2, 3, 4])
def test_each_filter_alone(tmp_path, f):
    pixels, _ = random_image(6, 9, 11, seed=f)
    got = decode_ok(tmp_path, png_bytes(pixels, 6, filters=(f,),
                                        idat_pieces=1), 32)
    assert np.abs(got - preprocess(to_rgb(pixels, 6), 32)).max() <= 1e-5


def test_batch_replicates(tmp_path):
    pixels, _ = random_image(2, 16, 16, seed=1)
    got = decode_ok(tmp_path, png_bytes(pixels, 2, level=0), 32, batch=3)
    assert got.shape == (3, 3, 32, 32)
    assert np.abs(got - preprocess(pixels, 32, 3)).max() <= 1e-5


def broken_cases():
    """(name, bytes, message) for files the decoder must refuse."""
    pixels, _ = random_image(2, 8, 8, seed=2)
    good = png_bytes(pixels, 2)
    raw = filter_rows(pixels.reshape(8, 24), 3, (0,))
    cases = [
        ("signature", b"GIF89a" + good[6:], "missing the PNG signature"),
        ("empty", b"", "missing the PNG signature"),
        ("truncated", good[:len(good) // 2], "truncated"),
        ("no_iend", good[:-12], "no IEND chunk"),
        ("after_iend", good + b"junk", "4 bytes after IEND"),
        ("bad_crc", good[:29] + bytes([good[29] ^ 1]) + good[30:],
         "CRC mismatch in chunk 'IHDR'"),
        ("interlaced", png_bytes(pixels, 2, ihdr=dict(interlace=1)),
         "Adam7 interlacing"),
        ("16bit", png_bytes(pixels, 2, ihdr=dict(depth=16)), "bit depth 16"),
        ("4bit", png_bytes(pixels[..., :1], 0, ihdr=dict(depth=4)),
         "bit depth 4"),
        ("zero_width", png_bytes(pixels, 2, ihdr=dict(width=0)),
         "invalid size 0x8"),
        ("colour_type", png_bytes(pixels[..., :1], 0, ihdr=dict(color=5)),
         "invalid colour type 5"),
        ("huge", png_bytes(pixels, 2, ihdr=dict(width=0x7fffffff,
                                                height=0x7fffffff)),
         "larger than the limit"),
        ("huge_within_limits", png_bytes(pixels, 2, ihdr=dict(width=8000,
                                                        height=8000)),
         "cannot inflate to the 192008000 bytes"),
        ("inflates_short", png_bytes(pixels, 2, raw=raw[:-5]),
         "inflates to 195 bytes, the header implies 200"),
        ("inflates_long", png_bytes(pixels, 2, raw=raw + b"\0" * 7),
         "inflates to more than the 200 bytes"),
        ("filter_type", png_bytes(pixels, 2, raw=bytes([5]) + raw[1:]),
         "invalid filter type 5 on row 0"),
        ("no_plte", png_bytes(pixels[..., :1], 3), "without a PLTE chunk"),
        ("palette_index", png_bytes(pixels[..., :1] | 0x80, 3,
                                    palette=np.zeros((16, 3))),
         "past the 16-entry PLTE"),
        ("critical_chunk", good[:33] + chunk(b"ABCD", b"x") + good[33:],
         "unknown critical chunk 'ABCD'"),
    ]
    # A zlib stream with a corrupted deflate block (CRC fixed up).
    start = good.index(b"IDAT") - 4
    length = struct.unpack(">I", good[start:start + 4])[0]
    body = bytearray(good[start + 8:start + 8 + length])
    body[0] ^= 0xff  # the zlib header's CMF byte
    cases.append(("corrupt_zlib", good[:start] + chunk(b"IDAT", bytes(body)) +
                  good[start + 12 + length:], "corrupt image data"))
    return cases


@pytest.mark.parametrize("name,data,message", broken_cases(),
                         ids=[c[0] for c in broken_cases()])
def test_errors(tmp_path, name, data, message):
    out = decode(tmp_path, data, 32)
    assert out.returncode == 1, out.stdout
    assert f"{tmp_path / 'in.png'}: " in out.stderr
    assert message in out.stderr, out.stderr


def test_mutations_never_crash(tmp_path):
    """Random byte flips inside chunk bodies, with the CRCs recomputed so
    the damage reaches IHDR, PLTE and IDAT parsing: every input is either
    decoded or refused with an error, never a crash or sanitizer report."""
    pixels, palette = random_image(3, 12, 10, seed=7)
    good = png_bytes(pixels, 3, palette=palette)
    rng = np.random.default_rng(11)
    chunks, pos = [], 8
    while pos < len(good):
        n = struct.unpack(">I", good[pos:pos + 4])[0]
        chunks.append((good[pos + 4:pos + 8], good[pos + 8:pos + 8 + n]))
        pos += 12 + n
    outcomes = set()
    for i in range(60):
        parts = [bytearray(b) for _, b in chunks]
        k = rng.integers(len(parts))
        if parts[k]:
            for _ in range(rng.integers(1, 4)):
                parts[k][rng.integers(len(parts[k]))] = rng.integers(256)
        data = b"\x89PNG\r\n\x1a\n" + b"".join(
            chunk(kind, bytes(b)) for (kind, _), b in zip(chunks, parts))
        out = decode(tmp_path, data, 32)
        assert out.returncode in (0, 1), out.stderr
        outcomes.add(out.returncode)
    assert outcomes == {0, 1}


# --- clusopt-run --------------------------------------------------------------

def run_tool(*args):
    path = pathlib.Path(build_dir()) / "bin" / "clusopt-run"
    if not path.exists():
        pytest.fail(f"{path} is missing; build clusopt first")
    return subprocess.run([str(path), *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def test_clusopt_run_png_matches_npy(tmp_path):
    cfg = paca.config("tiny")
    weights = paca.random_weights(cfg, seed=3, bias_std=0.02)
    export.export_state_dict(weights, tmp_path / "w.safetensors", dtype="f32")
    pixels, _ = random_image(6, 50, 70, seed=5)
    # By the signature: no .png extension.
    (tmp_path / "photo.img").write_bytes(png_bytes(pixels, 6))
    np.save(tmp_path / "ref.npy", np.ascontiguousarray(
        preprocess(to_rgb(pixels, 6), 64, 2), np.float32))
    logits = {}
    for name, extra in [("photo.img", ["--batch", 2]), ("ref.npy", [])]:
        out = run_tool("--model", "paca_tiny", "--weights",
                       tmp_path / "w.safetensors", "--image", tmp_path / name,
                       "--resolution", 64, "--runs", 1, "--threads", 2,
                       "--dump-logits", tmp_path / "logits.npy", *extra)
        assert out.returncode == 0, out.stderr
        assert "images [2, 3, 64, 64]" in out.stdout
        logits[name] = np.load(tmp_path / "logits.npy")
    got, want = logits["photo.img"], logits["ref.npy"]
    assert np.array_equal(got[0], got[1])
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()
    # Errors name the file; the resolution rule is the model's.
    out = run_tool("--model", "paca_tiny", "--weights",
                   tmp_path / "w.safetensors", "--image",
                   tmp_path / "photo.img", "--resolution", 48)
    assert out.returncode == 1
    assert "--resolution 48 is not a positive multiple of 32" in out.stderr


def run_driver(path, timeout=30):
    out = subprocess.run([driver(), str(path), "32", "1", "/dev/null"],
                         capture_output=True, text=True, timeout=timeout)
    assert "Sanitizer" not in out.stderr and "runtime error" not in out.stderr
    return out


def test_special_and_oversized_files_refused(tmp_path):
    """readPng read /dev/zero until memory ran out and blocked on a FIFO;
    both, and a PNG over the 1 GiB limit (sparse), are refused at once."""
    os.mkfifo(tmp_path / "fifo.png")
    with open(tmp_path / "big.png", "wb") as f:
        f.truncate((1 << 30) + 1)
    limit = "not a regular file (images are read from regular files of at " \
        "most 1 GiB)"
    for path, message in [
            ("/dev/zero", "/dev/zero: is a character device, " + limit),
            (tmp_path / "fifo.png", "fifo.png: is a FIFO, " + limit),
            (tmp_path / "big.png", "big.png: 1073741825 bytes, over the 1 GiB "
             "limit for images")]:
        out = run_driver(path)
        assert out.returncode == 1 and message in out.stderr, out.stderr
