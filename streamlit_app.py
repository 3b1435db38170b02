"""`streamlit run streamlit_app.py`: a thin entry point. The UI lives in `ruvllm/app.py`
(source: `nbs/15_app.ipynb`); nbdev's relative imports break `streamlit run` on an exported module."""
try:
    from ruvllm.app import main
except ImportError as e:  # the app notebook has not landed yet
    raise SystemExit(f"ruvllm's Streamlit app is not available in this version ({e}); see the README's status table.")

main()
