"""course_lib: the numpy engine of the llm-foundations course.

Each module has one job; read them in this order:

    tokenizers   text <-> token ids (characters, byte-level BPE)
    facts        the facts the corpus teaches, and the same facts as questions
    corpus       the embedded training text, written from those facts
    ngram        a count-based base model
    transformer  the model, read top to bottom: configuration, each layer's forward and backward,
                 the block, the model (training passes, decoding with a key/value cache)
    fast         the same functions computed faster, for training (tested equal to transformer)
    data_parallel  a training step's batch shared out among worker processes, one per core
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
