"""`streamlit run streamlit_app.py`: the ruvllm app. The UI lives in `ruvllm/app.py` (source: `nbs/15_app.ipynb`);
this file only runs it (nbdev's relative imports break `streamlit run` on an exported module)."""
from ruvllm.app import main

main()
