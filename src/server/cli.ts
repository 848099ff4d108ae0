// Placeholder; the real CLI lands with the core issue.
import pkg from '../../package.json';
console.log(pkg.version);
