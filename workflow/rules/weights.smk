# The pytorch-AdaIN release weights, downloaded (and checked by shape) only when missing.
RELEASE = "https://github.com/naoto0804/pytorch-AdaIN/releases/download/v0.0.0"


rule download_vgg:
    output:
        weights=config["vgg_weights"],
    params:
        url=f"{RELEASE}/vgg_normalised.pth",
        kind="vgg",
    log:
        out("logs", "download_vgg.log"),
    resources:
        mem_mb=1000,
    conda:
        "../../envs/adain.yaml"
    script:
        "../scripts/download_weights.py"


rule download_decoder:
    output:
        weights=config["decoder_weights"],
    params:
        url=f"{RELEASE}/decoder.pth",
        kind="decoder",
    log:
        out("logs", "download_decoder.log"),
    resources:
        mem_mb=1000,
    conda:
        "../../envs/adain.yaml"
    script:
        "../scripts/download_weights.py"
