export { main, USAGE } from './main.js';
