"""course_lib: the numpy engine of the llm-foundations course.

Each module has one job; read them in this order:

    tokenizers   text <-> token ids (characters, byte-level BPE)
    facts        the facts the corpus teaches, and the same facts as questions
    corpus       the embedded training text, written from those facts
    ngram        a count-based base model
    layers       the transformer's building blocks, each a forward/backward pair
    rows         element-wise work in cache-sized row blocks, shared across threads
    config       the transformer's hyper-parameters and the parameter shapes they imply
    kvcache      the key/value cache of incremental decoding
    transformer  a decoder-only transformer: the block written once, training and decoding
    checkpoint   saving and loading a model's weights and config
    losses       softmax, cross-entropy, sequence and dataset losses
    sampling     greedy, temperature, top-k, top-p and the generation loop
    optim        AdamW, gradient clipping, the learning-rate schedule
    data         pre-training windows and fine-tuning examples
    training     the training loop and its loss history
    finetuning   the prompt template, greedy answers, epoch batches for fine-tuning
    plots        the charts the chapters share: top tokens, bars, lines, token losses, strips
    speed        the time of one generation step, with and without the key/value cache
    pretrained   the shipped base model
    quiz         the multiple-choice widget used in the chapters
    checks       the input checks shared by the public functions
"""

__version__ = "0.1.0"
