"""Deterministic renderer of articulated human figures with keypoint labels.

Every image holds one to ``max_people`` figures drawn over a cluttered
background, with optional occluders; a :class:`RenderPreset` sets how
crowded and occluded the images are (:data:`PRESETS`).  A figure is a kinematic tree (torso,
head, arms ending in hands, legs ending in shoes) with random joint angles,
body yaw (front or back view), in-plane rotation, scale, limb thickness and
texture.  As with real people, left and right follow from the view: front
views show the face (eyes, nose) and a chest badge, back views show neither.
The cue is mirror-consistent, so horizontal-flip augmentation and flip
testing stay valid (a chirality cue drawn on one side, such as a stripe on
the left limbs, would not be).

Each figure is described by the union of the COCO and MPII joint sets
(:data:`JOINTS`); :func:`to_coco_keypoints` and :func:`to_mpii_joints` select
the 17 COCO keypoints and the 16 MPII joints.  Visibility follows COCO:
2 visible, 1 labelled but hidden (by an occluder or another figure), 0 not
labelled (outside the image, or a face point on a back view).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

JOINTS = (
    'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
    'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
    'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
    'right_knee', 'left_ankle', 'right_ankle',
    'pelvis', 'thorax', 'upper_neck', 'head_top')
J = {name: i for i, name in enumerate(JOINTS)}

#: COCO's 17 keypoints are the first 17 joints, in COCO order.
COCO_INDICES = tuple(range(17))
#: MPII order: r_ankle, r_knee, r_hip, l_hip, l_knee, l_ankle, pelvis, thorax,
#: upper_neck, head_top, r_wrist, r_elbow, r_shoulder, l_shoulder, l_elbow,
#: l_wrist.
MPII_INDICES = tuple(J[n] for n in (
    'right_ankle', 'right_knee', 'right_hip', 'left_hip', 'left_knee',
    'left_ankle', 'pelvis', 'thorax', 'upper_neck', 'head_top',
    'right_wrist', 'right_elbow', 'right_shoulder', 'left_shoulder',
    'left_elbow', 'left_wrist'))

# Limbs drawn as thick segments between two joints.
LIMBS = (
    ('left_shoulder', 'left_elbow'), ('left_elbow', 'left_wrist'),
    ('right_shoulder', 'right_elbow'), ('right_elbow', 'right_wrist'),
    ('left_hip', 'left_knee'), ('left_knee', 'left_ankle'),
    ('right_hip', 'right_knee'), ('right_knee', 'right_ankle'),
    ('thorax', 'upper_neck'))


@dataclass
class Figure:
    """One rendered person.

    Attributes:
        joints (np.ndarray): ``(len(JOINTS), 2)`` pixel coordinates.
        visible (np.ndarray): ``(len(JOINTS),)`` COCO visibility flags 0/1/2.
        bbox (tuple): ``(x, y, w, h)`` of the drawn pixels.
        area (float): object scale for OKS, ``0.53 * w * h`` of the box: the
            convention mmpose uses when a segmentation area is missing, since
            the pixel area of a stick figure is far below a real person's.
        head_box (tuple): ``(x1, y1, x2, y2)`` around the head (MPII head box).
    """
    joints: np.ndarray
    visible: np.ndarray
    bbox: tuple
    area: float
    head_box: tuple


def _rot(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def _direction(angle: float) -> np.ndarray:
    """Unit vector; angle 0 points down the image (+y)."""
    return np.array([np.sin(angle), np.cos(angle)])


@dataclass(frozen=True)
class PoseRanges:
    """Joint-angle ranges (radians) of :func:`sample_pose`.

    Angles are measured from the image's downward axis; arm and leg angles
    open away from the body for positive values.  The defaults give everyday
    poses; :data:`UNUSUAL_POSE` widens them to arms overhead, high kicks,
    splits, deep knee bends and strong leans, all anatomically reachable.
    """
    lean_sd: float = 0.2
    head_sd: float = 0.25
    upper_arm: tuple[float, float] = (-0.4, 2.6)
    elbow_bend: tuple[float, float] = (0.0, 2.3)
    thigh: tuple[float, float] = (-0.25, 0.9)
    knee_bend: tuple[float, float] = (0.0, 1.6)


#: Wide but valid joint ranges for the occlusion preset's unusual poses.
UNUSUAL_POSE = PoseRanges(lean_sd=0.6, head_sd=0.4, upper_arm=(-0.6, 3.1),
                          elbow_bend=(0.0, 2.6), thigh=(-0.6, 2.0), knee_bend=(0.0, 2.5))


def sample_pose(rng: np.random.Generator, height: float,
                ranges: PoseRanges = PoseRanges()) -> tuple[np.ndarray, float, float]:
    """Sample joint positions of a figure of the given pixel height.

    Returns:
        tuple: ``(joints, yaw_cos, head_radius)`` with joints ``(N, 2)`` in a
        frame centred on the pelvis, before in-plane rotation.
    """
    p = {k: v * height * rng.uniform(0.9, 1.1) for k, v in dict(
        torso=0.30, neck=0.05, head=0.07, upper_arm=0.17, forearm=0.15,
        thigh=0.23, shin=0.22, shoulder=0.11, hip=0.07).items()}
    facing = rng.choice([-1.0, 1.0]) * rng.uniform(0.35, 1.0)  # cos(yaw), sign = front
    pts = np.zeros((len(JOINTS), 2))
    lean = rng.normal(0.0, ranges.lean_sd)
    up = -_direction(lean)  # towards the head
    side = np.array([-up[1], up[0]])  # image-right for an upright figure
    pts[J['pelvis']] = 0.0
    pts[J['thorax']] = up * p['torso']
    pts[J['upper_neck']] = pts[J['thorax']] + up * p['neck']
    head_up = -_direction(lean + rng.normal(0.0, ranges.head_sd))
    head_c = pts[J['upper_neck']] + head_up * p['head']
    pts[J['head_top']] = head_c + head_up * p['head']
    head_side = np.array([-head_up[1], head_up[0]])
    # A front-facing figure has its left side on the image right.
    for s, sign in (('left', 1.0), ('right', -1.0)):
        lat = sign * facing
        pts[J[f'{s}_shoulder']] = pts[J['thorax']] + side * lat * p['shoulder']
        pts[J[f'{s}_hip']] = side * lat * p['hip']
        pts[J[f'{s}_ear']] = head_c + head_side * lat * p['head'] * 0.95
        pts[J[f'{s}_eye']] = head_c + head_side * lat * p['head'] * 0.4 - head_up * 0.1 * p['head']
        a_arm = lean + sign * np.sign(facing) * rng.uniform(*ranges.upper_arm)
        a_fore = a_arm + rng.choice([-1, 1]) * rng.uniform(*ranges.elbow_bend)
        pts[J[f'{s}_elbow']] = pts[J[f'{s}_shoulder']] + _direction(a_arm) * p['upper_arm']
        pts[J[f'{s}_wrist']] = pts[J[f'{s}_elbow']] + _direction(a_fore) * p['forearm']
        a_leg = lean + sign * np.sign(facing) * rng.uniform(*ranges.thigh)
        a_shin = a_leg + rng.choice([-1, 1]) * rng.uniform(*ranges.knee_bend)
        pts[J[f'{s}_knee']] = pts[J[f'{s}_hip']] + _direction(a_leg) * p['thigh']
        pts[J[f'{s}_ankle']] = pts[J[f'{s}_knee']] + _direction(a_shin) * p['shin']
    pts[J['nose']] = head_c - head_up * 0.35 * p['head']
    return pts, float(facing), float(p['head'])


def _texture(rng: np.random.Generator, shape: tuple[int, int], base: np.ndarray) -> np.ndarray:
    """A colour field with random stripes around ``base`` (uint8 BGR)."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    theta = rng.uniform(0, np.pi)
    freq = rng.uniform(0.05, 0.4)
    wave = np.sin((xx * np.cos(theta) + yy * np.sin(theta)) * freq)
    amp = rng.uniform(0, 40)
    tex = base[None, None, :].astype(np.float32) + amp * wave[..., None]
    return np.clip(tex, 0, 255).astype(np.uint8)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    t = np.linspace(0, 1, size, dtype=np.float32)
    grad = t[:, None] if rng.random() < 0.5 else t[None, :]
    img = (c0 * (1 - grad[..., None]) + c1 * grad[..., None]).astype(np.float32)
    img = np.broadcast_to(img, (size, size, 3)).copy()
    for _ in range(rng.integers(3, 12)):  # clutter, some of it limb-like
        col = tuple(float(c) for c in rng.uniform(0, 255, 3))
        kind = rng.choice(3, p=[0.4, 0.4, 0.2])
        if kind == 0:
            p0, p1 = rng.uniform(0, size, 2), rng.uniform(0, size, 2)
            cv2.rectangle(img, tuple(int(v) for v in p0), tuple(int(v) for v in p1), col, -1)
        elif kind == 1:
            c = tuple(int(v) for v in rng.uniform(0, size, 2))
            axes = tuple(int(v) for v in rng.uniform(4, size / 5, 2))
            cv2.ellipse(img, c, axes, rng.uniform(0, 180), 0, 360, col, -1)
        else:
            p0, p1 = rng.uniform(0, size, 2), rng.uniform(0, size, 2)
            cv2.line(img, tuple(int(v) for v in p0), tuple(int(v) for v in p1), col,
                     int(rng.integers(2, 10)), cv2.LINE_AA)
    img += rng.normal(0, rng.uniform(2, 12), img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def _draw_figure(rng: np.random.Generator, pts: np.ndarray, facing: float,
                 head_r: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Rasterise a figure; returns (coverage mask, BGR layer)."""
    mask = np.zeros((size, size), np.uint8)
    face = np.zeros((size, size), np.uint8)
    height = np.linalg.norm(pts[J['head_top']] - pts[J['pelvis']]) * 1.9
    limb_w = max(2, int(round(height * rng.uniform(0.035, 0.07))))
    ip = np.round(pts).astype(np.int32)
    torso = ip[[J['left_shoulder'], J['right_shoulder'], J['right_hip'], J['left_hip']]]
    hull = cv2.convexHull(torso)
    cv2.fillConvexPoly(mask, hull, 255, cv2.LINE_AA)
    cv2.polylines(mask, [hull], True, 255, limb_w, cv2.LINE_AA)
    for a, b in LIMBS:
        cv2.line(mask, tuple(ip[J[a]]), tuple(ip[J[b]]), 255, limb_w, cv2.LINE_AA)
    # hands: skin-coloured discs; feet: dark shoes pointing away from the shin
    skin_parts = np.zeros((size, size), np.uint8)
    shoes = np.zeros((size, size), np.uint8)
    for name in ('left_wrist', 'right_wrist'):
        cv2.circle(skin_parts, tuple(ip[J[name]]), int(limb_w * 1.1) + 1, 255, -1, cv2.LINE_AA)
    for side in ('left', 'right'):
        ankle, knee = pts[J[f'{side}_ankle']], pts[J[f'{side}_knee']]
        axis = np.degrees(np.arctan2(*(ankle - knee)[::-1])) + 90 * np.sign(facing + 1e-6)
        cv2.ellipse(shoes, tuple(ip[J[f'{side}_ankle']]), (int(limb_w * 1.6) + 1, limb_w),
                    float(axis), 0, 360, 255, -1, cv2.LINE_AA)
    mask |= skin_parts | shoes
    head_c = (pts[J['head_top']] + pts[J['upper_neck']]) / 2
    cv2.circle(mask, tuple(np.round(head_c).astype(int)), int(round(head_r)), 255, -1,
               cv2.LINE_AA)
    dot = max(1, int(round(head_r * 0.18)))
    for name in ('left_ear', 'right_ear'):
        cv2.circle(mask, tuple(ip[J[name]]), dot + 1, 255, -1, cv2.LINE_AA)
    if facing > 0:
        for name in ('left_eye', 'right_eye', 'nose'):
            cv2.circle(face, tuple(ip[J[name]]), dot, 255, -1, cv2.LINE_AA)
        chest = 0.55 * pts[J['thorax']] + 0.45 * pts[J['pelvis']]
        cv2.circle(face, tuple(np.round(chest).astype(int)), max(2, limb_w // 2 + 1), 255, -1,
                   cv2.LINE_AA)
    base = rng.uniform(30, 230, 3)
    layer = _texture(rng, (size, size), base)
    skin = np.array([rng.uniform(60, 200)] * 3) * np.array([0.8, 0.9, 1.0])
    head_mask = np.zeros_like(mask)
    cv2.circle(head_mask, tuple(np.round(head_c).astype(int)), int(round(head_r)), 255, -1)
    layer[(head_mask > 0) | (skin_parts > 0)] = skin.astype(np.uint8)
    layer[shoes > 0] = (rng.uniform(10, 60, 3)).astype(np.uint8)
    layer[face > 0] = np.where(base.mean() > 128, 20, 235)
    return mask, layer


@dataclass(frozen=True)
class RenderPreset:
    """How crowded, occluded and unusual the rendered images are.

    Attributes:
        max_people (int): figures per image, 1 to this many. Default 3.
        occluder_prob (float): chance of an image having occluders. Default 0.5.
        max_occluders (int): occluders per occluded image, 1 to this many.
        occluder_size (tuple): range of an occluder's half-extent, as a
            fraction of the image side. Default (0.06, 0.2).
        overlap_prob (float): chance that a figure after the first is placed
            next to an earlier one (centre offset ~ N(0, 0.12 * size)) rather
            than anywhere. Default 0 (no extra random draws).
        unusual_pose_prob (float): chance of a figure drawing its joint
            angles from ``unusual_pose`` instead of ``pose``. Default 0.
        pose (PoseRanges): everyday joint-angle ranges.
        unusual_pose (PoseRanges): wide joint-angle ranges.
    """
    max_people: int = 3
    occluder_prob: float = 0.5
    max_occluders: int = 2
    occluder_size: tuple[float, float] = (0.06, 0.2)
    overlap_prob: float = 0.0
    unusual_pose_prob: float = 0.0
    pose: PoseRanges = field(default_factory=PoseRanges)
    unusual_pose: PoseRanges = UNUSUAL_POSE


#: ``default``: the embedded quickstart data. ``occlusion``: crowded images,
#: more and larger occluders, people overlapping each other and a share of
#: unusual poses; about a third of the labelled keypoints are hidden (v=1).
PRESETS = {
    'default': RenderPreset(),
    'occlusion': RenderPreset(max_people=4, occluder_prob=0.9, max_occluders=4,
                              occluder_size=(0.06, 0.22), overlap_prob=0.7,
                              unusual_pose_prob=0.3),
}


def render_image(rng: np.random.Generator, size: int = 256,
                 preset: RenderPreset = PRESETS['default']) -> tuple[np.ndarray, list[Figure]]:
    """Render one image; returns ``(img_bgr, figures)``.

    A preset whose ``overlap_prob`` and ``unusual_pose_prob`` are 0 draws no
    random numbers for them, so the default preset's images do not depend on
    those features existing.
    """
    img = _background(rng, size)
    owner = np.full((size, size), -1, np.int32)  # index of the top-most layer
    n_people = int(rng.integers(1, preset.max_people + 1))
    raw, centres = [], []
    for k in range(n_people):
        height = rng.uniform(0.35, 0.95) * size / (1.0 + 0.4 * (n_people - 1))
        unusual = preset.unusual_pose_prob > 0 and rng.random() < preset.unusual_pose_prob
        pts, facing, head_r = sample_pose(rng, height,
                                          preset.unusual_pose if unusual else preset.pose)
        angle = rng.normal(0, 0.35) if rng.random() < 0.85 else rng.uniform(-np.pi, np.pi)
        pts = pts @ _rot(angle).T
        lo, hi = pts.min(0), pts.max(0)
        span = hi - lo
        low, high = np.minimum(span / 2, size / 2), np.maximum(size - span / 2, size / 2)
        if k > 0 and preset.overlap_prob > 0 and rng.random() < preset.overlap_prob:
            anchor = centres[int(rng.integers(k))]
            centre = np.clip(anchor + rng.normal(0, 0.12 * size, 2), low, high)
        else:
            centre = rng.uniform(low, high)
        pts = pts - (lo + hi) / 2 + centre
        centres.append(centre)
        mask, layer = _draw_figure(rng, pts, facing, head_r, size)
        alpha = (mask.astype(np.float32) / 255.0)[..., None]
        img = (layer * alpha + img * (1 - alpha)).astype(np.uint8)
        owner[mask > 127] = k
        raw.append((pts, facing, head_r, mask))
    if rng.random() < preset.occluder_prob:
        for _ in range(rng.integers(1, preset.max_occluders + 1)):
            occ = np.zeros((size, size), np.uint8)
            c = rng.uniform(0.2, 0.8, 2) * size
            half = rng.uniform(*preset.occluder_size, 2) * size
            if rng.random() < 0.5:
                cv2.rectangle(occ, tuple(int(v) for v in c - half), tuple(int(v) for v in c + half),
                              255, -1)
            else:
                cv2.ellipse(occ, tuple(int(v) for v in c), tuple(int(v) for v in half),
                            rng.uniform(0, 180), 0, 360, 255, -1)
            img[occ > 0] = _texture(rng, (size, size), rng.uniform(0, 255, 3))[occ > 0]
            owner[occ > 0] = -2
    figures = []
    for k, (pts, facing, head_r, mask) in enumerate(raw):
        inside = np.all((pts >= 0) & (pts <= size - 1), axis=1)
        xi = np.clip(np.round(pts[:, 0]).astype(int), 0, size - 1)
        yi = np.clip(np.round(pts[:, 1]).astype(int), 0, size - 1)
        on_top = owner[yi, xi] == k
        visible = np.where(inside, np.where(on_top, 2, 1), 0)
        if facing <= 0:
            visible[[J['nose'], J['left_eye'], J['right_eye']]] = 0
        ys, xs = np.nonzero(mask > 127)
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        head_c = (pts[J['head_top']] + pts[J['upper_neck']]) / 2
        head_box = (*(head_c - head_r * 1.1), *(head_c + head_r * 1.1))
        figures.append(Figure(
            joints=pts.astype(np.float32), visible=visible.astype(np.int64),
            bbox=(float(x0), float(y0), float(x1 - x0), float(y1 - y0)),
            area=float(0.53 * (x1 - x0) * (y1 - y0)), head_box=tuple(float(v) for v in head_box)))
    return img, figures

