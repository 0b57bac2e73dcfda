FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY jobs ./jobs
COPY config ./config
USER node
EXPOSE 3000
CMD ["node", "bin/turnover.js", "start"]
