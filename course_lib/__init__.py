"""course_lib: the numpy engine of the llm-foundations course.

Each module has one job; read them in this order:

    tokenizers   text <-> token ids (characters, byte-level BPE)
    corpus       the embedded training text, its facts, your own text files
    ngram        a count-based base model
    layers       the transformer's building blocks, each a forward/backward pair
    transformer  a decoder-only transformer with a key/value cache
    losses       softmax, cross-entropy, sequence and dataset losses
    sampling     greedy, temperature, top-k, top-p and the generation loop
    optim        AdamW, gradient clipping, the learning-rate schedule
    data         pre-training windows and fine-tuning examples
    training     the training loop and its loss history
    finetuning   the prompt template, greedy answers, epoch batches for fine-tuning
    plots        the charts the chapters share: top tokens, grouped bars, lines, token strips
    speed        the time of one generation step, with and without the key/value cache
    pretrained   the shipped base model
    quiz         the multiple-choice widget used in the chapters
"""

__version__ = "0.1.0"
