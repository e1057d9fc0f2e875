// Text files bundled as strings (esbuild `loader: { '.sh': 'text', '.rules': 'text' }`).
declare module '*.sh' {
  const text: string;
  export default text;
}
declare module '*.rules' {
  const text: string;
  export default text;
}
