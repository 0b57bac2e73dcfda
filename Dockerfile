# Two stages: the build stage compiles the TypeScript (npm run build: build/ and the console's
# web/dist); the runtime stage holds only the compiled JavaScript, the built console and the
# production dependencies. No tsx, Vite or React at run time.
FROM node:22.20.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The sources go in before `npm ci`: its postinstall builds the console (web/), whose API client is
# generated from the admin API's route declarations in src/.
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY jobs ./jobs
COPY config ./config
COPY web ./web
RUN npm ci --no-audit --no-fund && npm run build

FROM node:22.20.0-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# No install scripts: the only one that matters is our own postinstall (the console build, done above).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
# Compiled next to where the sources sit, so bin/turnover.js finds src/cli.js.
COPY --from=build /app/build/src ./src
COPY --from=build /app/build/jobs ./jobs
COPY --from=build /app/build/config ./config
COPY --from=build /app/web/dist ./web/dist
USER node
EXPOSE 3000
CMD ["node", "bin/turnover.js", "start"]
