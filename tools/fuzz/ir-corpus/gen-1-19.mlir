func.func @f0(%a0: tensor<1x49x1xf16>) -> (tensor<1x1x17xi32>) {
  %v1_init = tensor.empty() : tensor<1x1x17xi32>
  %v1 = clus.topk_members %a0 capacity = 17 outs(%v1_init)
      : tensor<1x49x1xf16> -> tensor<1x1x17xi32>
  return %v1 : tensor<1x1x17xi32>
}
