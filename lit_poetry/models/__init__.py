"""The networks (LanguageModel, base.py), built from config by build.py: LSTMs (autograd, fused,
nn.LSTM) in lstm_lm.py, a causal Transformer in transformer.py."""
