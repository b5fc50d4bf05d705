"""No admin screens for pathology, on purpose: slides, annotations and key images are patient
data, read only through their scoped queries (and audited there), and the Django admin
would read them unscoped. Operators look at slides through the viewer like everyone else."""
