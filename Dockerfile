# Sage service image: `sage serve` on 0.0.0.0:8080.
# Used by docker-compose.yml for the replicas; any OCI runtime will do.
FROM python:3.11-slim

# bubblewrap sandboxes skill scripts (the service refuses to run them
# without it); git is for skills installed from repositories.
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap git \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/sage
COPY pyproject.toml README.md ./
COPY sagents ./sagents
COPY app ./app
COPY skill_workspace ./skill_workspace
RUN pip install --no-cache-dir .

RUN useradd --create-home sage
USER sage
ENV SAGE_DATA_DIR=/home/sage/data
EXPOSE 8080
CMD ["sage", "serve", "--host", "0.0.0.0", "--port", "8080"]
