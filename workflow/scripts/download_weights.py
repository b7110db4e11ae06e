from adain.jobs import download_weights_job, logged

with logged(snakemake.log[0]):
    download_weights_job(snakemake.params.url, snakemake.output.weights, snakemake.params.kind)
