import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { CONFIGURATION_DOC, renderConfigurationDoc } from '../src/config-doc.js';

// `npm run docs:config`: writes docs/configuration.md from the environment schema.
writeFileSync(CONFIGURATION_DOC, renderConfigurationDoc());
console.log(`wrote ${relative(process.cwd(), CONFIGURATION_DOC)}`);
