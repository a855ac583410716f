// Unit tests of the pure model code (src/model.ts): node environment, no DOM needed.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/__tests__/**/*.spec.ts'],
    environment: 'node'
  }
});
