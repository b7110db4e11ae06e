# Downstream evaluation of classifiers (config key `evaluation`): shape bias on cue-conflict images
# and accuracy on this run's shards. Nothing here runs while evaluation.models is empty
# (synthesize_topk: while evaluation.synthesis.images is).


rule make_cue_conflict:
    input:
        vgg=ancient(config["vgg_weights"]),
        decoder=ancient(config["decoder_weights"]),
    output:
        stimuli=directory(PATHS.evaluation("cue-conflict")),
    log:
        PATHS.log("evaluation", "make_cue_conflict"),
    conda:
        "../../envs/adain.yaml"
    resources:
        gpu=STYLIZE_GPUS,
        mem_mb=8000,
    message:
        "make_cue_conflict: cue-conflict images from shapes and textures (log: {log})"
    script:
        "../scripts/make_cue_conflict.py"


rule evaluate_shape_bias:
    input:
        unpack(get_classifier_weights),
        stimuli=get_stimuli() or [],
    output:
        results=directory(PATHS.evaluation("shape_bias", "{model}")),
    log:
        PATHS.log("evaluation", "shape_bias_{model}"),
    conda:
        "../../envs/adain.yaml"
    resources:
        gpu=STYLIZE_GPUS,
        mem_mb=8000,
    message:
        "evaluate_shape_bias {wildcards.model} (log: {log})"
    script:
        "../scripts/evaluate_shape_bias.py"


rule plot_shape_bias:
    input:
        results=expand(PATHS.evaluation("shape_bias", "{model}"), model=EVALUATION["models"]),
    output:
        figure=report(PATHS.evaluation("shape_bias.pdf"), caption="../report/shape_bias.rst", category="Evaluation"),
        table=PATHS.evaluation("shape_bias.tsv"),
    log:
        PATHS.log("evaluation", "plot_shape_bias"),
    conda:
        "../../envs/adain.yaml"
    resources:
        mem_mb=2000,
    message:
        "plot_shape_bias (log: {log})"
    script:
        "../scripts/plot_shape_bias.py"


rule evaluate_accuracy:
    input:
        unpack(get_classifier_weights),
        shards=get_split_shards,
    output:
        summary=PATHS.evaluation("accuracy", "{model}_{split}.json"),
        predictions=PATHS.evaluation("accuracy", "{model}_{split}.csv"),
    log:
        PATHS.log("evaluation", "accuracy_{model}_{split}"),
    conda:
        "../../envs/adain.yaml"
    resources:
        gpu=STYLIZE_GPUS,
        mem_mb=8000,
    message:
        "evaluate_accuracy {wildcards.model} on {wildcards.split} (log: {log})"
    script:
        "../scripts/evaluate_accuracy.py"


# What Top-K neurons see (evaluation.synthesis; nothing runs while its images are unset).
rule synthesize_topk:
    input:
        images=get_synthesis_images,
        vgg=ancient(config["vgg_weights"]),
    output:
        pictures=directory(PATHS.evaluation("synthesis")),
    log:
        PATHS.log("evaluation", "synthesize_topk"),
    conda:
        "../../envs/adain.yaml"
    resources:
        gpu=STYLIZE_GPUS,
        mem_mb=8000,
    message:
        "synthesize_topk (log: {log})"
    script:
        "../scripts/synthesize_topk.py"


# Representation analyses (docs/shapebias.md): shape and texture dimensions (evaluation.dimensions),
# linear decodability (evaluation.decodability) and REFINED-BIAS (evaluation.refined_bias).


rule estimate_dimensions:
    input:
        unpack(get_classifier_weights),
        images=get_dimension_images,
    output:
        summary=PATHS.evaluation("dimensions", "{model}.json"),
        table=PATHS.evaluation("dimensions", "{model}.csv"),
    log:
        PATHS.log("evaluation", "dimensions_{model}"),
    conda:
        "../../envs/adain.yaml"
    resources:
        gpu=STYLIZE_GPUS,
        mem_mb=8000,
    message:
        "estimate_dimensions {wildcards.model} (log: {log})"
    script:
        "../scripts/estimate_dimensions.py"


rule plot_dimensions:
    input:
        summaries=expand(PATHS.evaluation("dimensions", "{model}.json"), model=EVALUATION["models"]),
    output:
        figure=report(PATHS.evaluation("dimensions.pdf"), caption="../report/dimensions.rst", category="Evaluation"),
    log:
        PATHS.log("evaluation", "plot_dimensions"),
    conda:
        "../../envs/adain.yaml"
    resources:
        mem_mb=2000,
    message:
        "plot_dimensions (log: {log})"
    script:
        "../scripts/plot_dimensions.py"


rule evaluate_decodability:
    input:
        unpack(get_classifier_weights),
        stimuli=get_stimuli() or [],
    output:
        summary=PATHS.evaluation("decodability", "{model}.json"),
        table=PATHS.evaluation("decodability", "{model}.csv"),
    log:
        PATHS.log("evaluation", "decodability_{model}"),
    conda:
        "../../envs/adain.yaml"
    resources:
        gpu=STYLIZE_GPUS,
        mem_mb=8000,
    message:
        "evaluate_decodability {wildcards.model} (log: {log})"
    script:
        "../scripts/evaluate_decodability.py"


rule plot_decodability:
    input:
        summaries=expand(PATHS.evaluation("decodability", "{model}.json"), model=EVALUATION["models"]),
    output:
        figure=report(PATHS.evaluation("decodability.pdf"), caption="../report/decodability.rst", category="Evaluation"),
    log:
        PATHS.log("evaluation", "plot_decodability"),
    conda:
        "../../envs/adain.yaml"
    resources:
        mem_mb=2000,
    message:
        "plot_decodability (log: {log})"
    script:
        "../scripts/plot_decodability.py"


rule evaluate_refined_bias:
    input:
        unpack(get_classifier_weights),
        data=EVALUATION["refined_bias"]["data"] or [],
    output:
        summary=PATHS.evaluation("refined_bias", "{model}.json"),
        predictions=PATHS.evaluation("refined_bias", "{model}.csv"),
    log:
        PATHS.log("evaluation", "refined_bias_{model}"),
    conda:
        "../../envs/adain.yaml"
    resources:
        gpu=STYLIZE_GPUS,
        mem_mb=8000,
    message:
        "evaluate_refined_bias {wildcards.model} (log: {log})"
    script:
        "../scripts/evaluate_refined_bias.py"
