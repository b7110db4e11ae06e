"""adain: build Stylized-ImageNet and texture-suppressed image datasets with batched AdaIN.

Modules (dependencies point one way): ``functional`` (AdaIN math) <- ``model`` (networks, weights)
<- ``engine`` (batched stylization, the overlapped device pipeline); ``flops`` (exact counts);
``images`` (decode, preprocessing); ``assign`` (seeded paintings); ``augment`` (on-the-fly stylization);
``cache`` (painting statistics on disk); ``folder`` (``adain stylize``); ``cli``. Evaluation:
``categories`` (16 classes) <- ``classifier`` <- ``shapebias`` / ``accuracy``; ``topk``; ``cueconflict``;
``plots``.
"""

__version__ = "0.1.0"
