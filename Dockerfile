FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# The sources go in before `npm ci`: its postinstall builds the console (web/), whose API client is
# generated from the admin API's route declarations in src/.
COPY bin ./bin
COPY src ./src
COPY jobs ./jobs
COPY config ./config
COPY web ./web
RUN npm ci --omit=dev && npm cache clean --force
USER node
EXPOSE 3000
CMD ["node", "bin/turnover.js", "start"]
