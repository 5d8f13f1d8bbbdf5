import torch

# Tests use tiny tensors: one thread is faster than two and does not oversubscribe CI's 2 cores.
torch.set_num_threads(1)
