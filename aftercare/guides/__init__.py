"""The "what to expect" guides: public pages for each stage of treatment, which work offline."""
